import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { type RelayCell, resultKey } from '../../lambda/shared/dsr/relay';
import { acknowledge, PACKS } from '../compliance/nag';
import { acknowledgeStateMachineRole } from '../compliance/state-machine-role';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import { encryptedLogGroup } from '../observability/encrypted-log-group';

/** A cell the machine reaches, with the account of each region's stack. */
export interface SubjectRequestCell extends RelayCell {
  readonly regions: readonly {
    readonly region: string;
    readonly functionName: string;
    readonly account: string;
  }[];
}

export interface SubjectRequestMachineProps {
  /** The machine's name (Naming.subjectRequestMachine of the region). */
  readonly stateMachineName: string;
  readonly region: string;
  /** The jurisdiction whose subjects' requests it takes. */
  readonly jurisdiction: string;
  /** The cells the plan lets the jurisdiction's personal classes reach, home first (dsrCells). */
  readonly cells: readonly SubjectRequestCell[];
  /** How long the law gives (`jurisdictions.<j>.subjectRequests.deadlineDays`): the machine's timeout. */
  readonly deadlineDays: number;
  readonly functions: FunctionDefaults;
  /** Request records go under `dsr/requests/` (Object Lock). */
  readonly auditBucket: s3.IBucket;
  /** Where an incomplete request is reported (ids, regions and gaps; no value). */
  readonly alerts: sns.ITopic;
}

/**
 * How a region's step is retried when it did not answer or its function failed: 1 minute, doubling
 * to at most an hour, 10 attempts — about 5 hours in all, a short wait against a deadline of weeks
 * (a region down for longer ends the run "incomplete", naming it; running the request again is
 * safe: erasure and its tombstones are idempotent).
 */
export const REGION_RETRY = {
  errors: [
    'RegionUnreachable',
    'RegionFailed',
    'Lambda.ServiceException',
    'Lambda.AWSLambdaException',
    'Lambda.SdkClientException',
    'Lambda.TooManyRequestsException',
  ],
  interval: Duration.minutes(1),
  backoffRate: 2,
  maxDelay: Duration.hours(1),
  maxAttempts: 10,
} as const;

/** The relay's input for `regions`: the request and deadline as the execution was started with. */
const regionStep = (regions: readonly string[]) =>
  sfn.TaskInput.fromObject({
    step: 'region',
    regions,
    'request.$': '$.request',
    'deadline.$': '$.deadline',
  });

/**
 * The definition, a pure function of the relay and the cells: per cell (home first, one after the
 * other, so nothing is sent from the home again while the others act), a Parallel of one branch per
 * region for an erasure or a rectification (each region acts on its own objects and cache; the
 * writer on the tables), or
 * one branch trying the cell's regions in turn for an access request. A region's step is retried
 * (REGION_RETRY); one still failing after that is recorded `unreachable`, not fatal, so the others
 * still act. The summary step then keeps the request-level record and the run fails
 * (`SubjectRequestIncomplete`) with an alert when anything is missing.
 */
export function subjectRequestDefinition(
  scope: Construct,
  relay: lambda.IFunction,
  cells: readonly RelayCell[],
  alerts: sns.ITopic,
): sfn.IChainable {
  const step = (name: string, regions: readonly string[]) => {
    const task = new tasks.LambdaInvoke(scope, name, {
      lambdaFunction: relay,
      payload: regionStep(regions),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    }).addRetry({ ...REGION_RETRY, errors: [...REGION_RETRY.errors] });
    const missed = new sfn.Pass(scope, `${name}: not reached`, {
      parameters: {
        // Access tries the cell's regions in turn: the first names the cell's entry.
        region: regions[0],
        outcome: 'unreachable',
        'error.$': '$.error.Error',
      },
    });
    return task.addCatch(missed, { errors: [...REGION_RETRY.errors], resultPath: '$.error' });
  };
  // Erasure and rectification act in every region; access in one region per cell.
  const path = (reach: 'every' | 'one'): sfn.Chain => {
    const [first, ...rest] = cells.map((c) => {
      const name =
        reach === 'every' ? `Every region of cell ${c.cell}` : `Access in cell ${c.cell}`;
      const p = new sfn.Parallel(scope, name, { resultPath: `$.results.${resultKey(c.cell)}` });
      if (reach === 'every')
        for (const r of c.regions) p.branch(step(`In ${r.region}`, [r.region]));
      else
        p.branch(
          step(
            `Access in ${c.cell}`,
            c.regions.map((r) => r.region),
          ),
        );
      return p;
    });
    if (!first) throw new Error('subject requests: the plan reaches no cell');
    return rest.reduce((chain, p) => chain.next(p), sfn.Chain.start(first));
  };

  const summary = new tasks.LambdaInvoke(scope, 'Keep the request record', {
    lambdaFunction: relay,
    payload: sfn.TaskInput.fromObject({
      step: 'summary',
      'request.$': '$.request',
      'deadline.$': '$.deadline',
      'results.$': '$.results',
    }),
    payloadResponseOnly: true,
    retryOnServiceExceptions: true,
    resultPath: '$.summary',
  });
  const end = summary.next(
    new sfn.Choice(scope, 'Complete?')
      .when(
        sfn.Condition.stringEquals('$.summary.outcome', 'complete'),
        new sfn.Pass(scope, 'Done', { outputPath: '$.summary' }),
      )
      .otherwise(
        new tasks.SnsPublish(scope, 'Alert: incomplete', {
          topic: alerts,
          subject: 'Meridian subject request incomplete',
          message: sfn.TaskInput.fromJsonPathAt('$.summary'),
          resultPath: sfn.JsonPath.DISCARD,
        }).next(
          new sfn.Fail(scope, 'Incomplete', {
            error: 'SubjectRequestIncomplete',
            // The request record (its gaps, per cell what each region did); the alert has them too.
            causePath: '$.summary.record',
          }),
        ),
      ),
  );
  const every = path('every');
  const access = path('one');
  every.next(end);
  access.next(summary);
  return new sfn.Pass(scope, 'Start', {
    parameters: { 'request.$': '$.request', 'deadline.$': '$.deadline', results: {} },
  }).next(
    new sfn.Choice(scope, 'Which action?')
      .when(
        sfn.Condition.or(
          sfn.Condition.stringEquals('$.request.action', 'erase'),
          sfn.Condition.stringEquals('$.request.action', 'rectify'),
        ),
        every,
      )
      .when(sfn.Condition.stringEquals('$.request.action', 'access'), access)
      .otherwise(
        new sfn.Fail(scope, 'Unknown action', {
          error: 'SubjectRequestRejected',
          cause: 'request.action: expected access, erase or rectify',
        }),
      ),
  );
}

/**
 * A jurisdiction's data-subject request, run from one of its regions: a Standard state machine
 * (`<platform>-<env>-<region>-subject-requests`) over the cells the plan lets its subjects' personal
 * classes reach, and its relay function (lambda/dsr-relay), which may invoke those regions'
 * subject-request functions and nothing else. `npm run dsr` prints the command that starts it.
 */
export class SubjectRequestMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly relay: MeridianFunction;

  constructor(scope: Construct, id: string, props: SubjectRequestMachineProps) {
    super(scope, id);
    const cells: RelayCell[] = props.cells.map((c) => ({
      cell: c.cell,
      regions: c.regions.map((r) => ({ region: r.region, functionName: r.functionName })),
    }));
    this.relay = new MeridianFunction(this, 'Relay', {
      ...props.functions,
      handler: 'dsr-relay',
      description: `Data-subject requests of ${props.jurisdiction}: invokes each reached region's subject-request function; keeps the request record`,
      timeoutSeconds: 300,
      environment: {
        MERIDIAN_REGION: props.region,
        MERIDIAN_JURISDICTION: props.jurisdiction,
        MERIDIAN_AUDIT_BUCKET: props.auditBucket.bucketName,
        MERIDIAN_DSR_CELLS: JSON.stringify(cells),
      },
      requiredEnvironment: [
        'MERIDIAN_REGION',
        'MERIDIAN_JURISDICTION',
        'MERIDIAN_AUDIT_BUCKET',
        'MERIDIAN_DSR_CELLS',
      ],
    });
    this.relay.allow(
      'InvokeReachedRegions',
      ['lambda:InvokeFunction'],
      props.cells.flatMap((c) =>
        c.regions.map(
          (r) => `arn:${Aws.PARTITION}:lambda:${r.region}:${r.account}:function:${r.functionName}`,
        ),
      ),
    );
    this.relay.allow(
      'WriteRequestRecords',
      ['s3:PutObject'],
      [props.auditBucket.arnForObjects('dsr/requests/*')],
    );
    this.relay.allow(
      'UseRegionalKey',
      ['kms:GenerateDataKey', 'kms:Decrypt'],
      [props.functions.key.keyArn],
    );
    const stack = Stack.of(this);
    const bucketId = stack.getLogicalId(props.auditBucket.node.defaultChild as s3.CfnBucket);
    acknowledge(this.relay.function.role as iam.IRole, [
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/dsr/requests/*]`,
        reason:
          'One request record per request, named by date and request id under dsr/requests/; PutObject only, in the Object Lock bucket.',
      },
    ]);

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: sfn.StateMachineType.STANDARD,
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(
        subjectRequestDefinition(this, this.relay.function, cells, props.alerts),
      ),
      timeout: Duration.days(props.deadlineDays),
      tracingEnabled: true,
      logs: {
        destination: encryptedLogGroup(this, 'ExecutionLogs', {
          key: props.functions.key,
          retentionDays: props.functions.logRetentionDays,
        }),
        level: sfn.LogLevel.ALL,
        // The input names the subject's entities (their keys may be personal): not in the logs.
        includeExecutionData: false,
      },
      comment: `Meridian data-subject requests of ${props.jurisdiction}, run from ${props.region}`,
    });
    acknowledgeStateMachineRole(
      this.stateMachine,
      [this.relay.function],
      'the relay',
      'invoke its relay, publish to its alert topic, deliver its logs',
    );
  }
}
