import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { namesOf, type RunbookConfig } from '../../lambda/shared/failover/config';
import type { SearchPhase } from '../../lambda/shared/failover/steps';
import { acknowledge, PACKS } from '../compliance/nag';
import { acknowledgeStateMachineRole } from '../compliance/state-machine-role';
import type { Settings } from '../config/schema';
import type { FunctionDefaults } from '../functions/function-defaults';
import {
  functionParts,
  MeridianFunction,
  type SharedFunctionParts,
} from '../functions/meridian-function';
import { encryptedLogGroup } from '../observability/encrypted-log-group';
import type { RegionalAlerts } from '../observability/regional-alerts';
import { cellLockTable } from './cell-lock-table';
import type { HostedLock } from './lock-plan';
import { PROMOTE_STEP_TIMEOUT_SECONDS, STEP_TIMEOUT_SECONDS } from './step-timeouts';

export interface FailoverRunbookProps {
  readonly config: RunbookConfig;
  /**
   * The lock tables this region's stack creates: those of the cells whose lock home it is
   * (its own cell's, another cell's, or both).
   * @default - none: the cell's lock lives elsewhere; this runbook calls config.lockRegions
   */
  readonly lockTables?: readonly HostedLock[];
  /** VPC, regional key (also the token secret's and the state machine logs'), retention, … */
  readonly functions: FunctionDefaults;
  readonly auditBucket: s3.IBucket;
  readonly alerts: RegionalAlerts;
  readonly failover: Settings['failover'];
  /**
   * This region's search domain admin: the search step assumes its role to stop replication.
   * @default - the search step only reports the manual action
   */
  readonly search?: { readonly adminRoleArn: string; trustAdmin(role: iam.IRole): void };
  /** State machine names (Naming.runbook and Naming.failback of the region). */
  readonly names: { readonly runbook: string; readonly failback: string };
}

/** The ARN of a state machine named `name` in `region` (operators' commands, dashboards). */
export const stateMachineArn = (partition: string, region: string, account: string, name: string) =>
  `arn:${partition}:states:${region}:${account}:stateMachine:${name}`;

const pascal = (s: string) =>
  s
    .split(/[^A-Za-z0-9]+/)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/** Error names a step may raise that are worth retrying (throttling, timeouts, Lambda itself). */
const RETRYABLE = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
  'ThrottlingException',
  'TooManyRequestsException',
  // Route 53 answers throttling with the code `Throttling` ("Rate exceeded"), and a change sent
  // while the previous one to the zone is still processed with `PriorRequestNotComplete`; both
  // are to be retried (Route 53 Developer Guide, Throttling for Amazon Route 53 API requests).
  'Throttling',
  'PriorRequestNotComplete',
  'TimeoutError',
  'ServiceUnavailable',
];

/**
 * How long the runbook waits for a promotion (a promote step raises PromotionPending until its
 * target is the writer): 5 s, then ×1.5 up to 30 s between attempts, 20 attempts — about 8.5
 * minutes in all, several times AWS's published promotion figures (lib/failover/drill/timings.ts).
 * Past it, the step fails and the runbook rolls back what it can and pages.
 */
export const PROMOTION_RETRY = {
  errors: ['PromotionPending'],
  interval: Duration.seconds(5),
  backoffRate: 1.5,
  maxDelay: Duration.seconds(30),
  maxAttempts: 20,
} as const;

/** The steps and what each may touch: one small function per step, each with its own role. */
const STEPS = {
  Verify: 'failover-verify',
  Assess: 'failover-assess',
  Lock: 'failover-lock',
  Unlock: 'failover-unlock',
  ChooseTarget: 'failover-choose-target',
  Fence: 'failover-fence',
  PromoteAurora: 'failover-promote-aurora',
  PromoteCache: 'failover-promote-cache',
  RepointSearch: 'failover-repoint-search',
  ShiftTraffic: 'failover-shift-traffic',
  VerifyTarget: 'failover-verify-target',
  Record: 'failover-record',
  Rollback: 'failover-rollback',
  CheckOriginal: 'failback-check-original',
  RestoreTraffic: 'failback-restore-traffic',
} as const;
type Step = keyof typeof STEPS;

/**
 * The failover runbook of one region (every region has one, so it can run from the region being
 * activated): a Standard state machine whose every step is a small Lambda, the cell's
 * split-brain lock table, and the Cloudflare API token secret.
 */
export class FailoverRunbook extends Construct {
  readonly stateMachine: sfn.StateMachine;
  /** Failback to the original region, after it stayed healthy and an operator approved. */
  readonly failback: sfn.StateMachine;
  readonly functions: Readonly<Record<Step, MeridianFunction>>;
  /** The lock tables this region keeps (FailoverRunbookProps.lockTables). */
  readonly lockTables: readonly dynamodb.TableV2[];
  readonly cloudflareToken: secretsmanager.Secret;
  /** Rolls the Cloudflare token every 30 days. */
  readonly tokenRotation: MeridianFunction;

  constructor(scope: Construct, id: string, props: FailoverRunbookProps) {
    super(scope, id);
    const c = props.config;
    const partition = Aws.PARTITION;
    const lockTableArns = c.lockRegions.map(
      (r) => `arn:${partition}:dynamodb:${r}:${c.account}:table/${c.lockTable}`,
    );

    // The cell's own lock keeps its construct id (CellLock: a stateful logical id); a lock this
    // region keeps for another cell is CellLock<Cell>.
    this.lockTables = (props.lockTables ?? []).map((l) =>
      cellLockTable(
        this,
        l.cell === c.cell.jurisdiction ? 'CellLock' : `CellLock${pascal(l.cell)}`,
        { tableName: l.tableName, plan: l.plan, region: c.region },
      ),
    );

    this.cloudflareToken = new secretsmanager.Secret(this, 'CloudflareToken', {
      description: `Cloudflare API token ({"tokenId","token"}) the ${c.region} runbook uses to disable a failed region's pool; kept in ${c.region} only, rolled every 30 days`,
      encryptionKey: props.functions.key,
      removalPolicy: RemovalPolicy.RETAIN,
      // A placeholder in the right shape: operators put the real token in once after deploying.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ tokenId: 'set-after-deploy' }),
        generateStringKey: 'token',
        excludePunctuation: true,
      },
    });
    this.tokenRotation = new MeridianFunction(this, 'TokenRotation', {
      handler: 'token-rotation',
      description: 'Rolls the Cloudflare API token every 30 days (Secrets Manager rotation)',
      ...props.functions,
      timeoutSeconds: 60,
      environment: { MERIDIAN_CLOUDFLARE_ACCOUNT_ID: c.cloudflare.accountId },
      requiredEnvironment: ['MERIDIAN_CLOUDFLARE_ACCOUNT_ID'],
    });
    this.cloudflareToken.addRotationSchedule('Rotation', {
      rotationLambda: this.tokenRotation.function,
      automaticallyAfter: Duration.days(30),
      // The first value is a placeholder: rotating it on deploy would fail.
      rotateImmediatelyOnUpdate: false,
    });
    // Only this secret may invoke its rotation function (Control Tower CT.LAMBDA.PR.2).
    for (const child of this.tokenRotation.function.node.children)
      if (child instanceof lambda.CfnPermission)
        child.addPropertyOverride('SourceArn', this.cloudflareToken.secretArn);

    const config: RunbookConfig = {
      ...c,
      cloudflare: { ...c.cloudflare, tokenSecretArn: this.cloudflareToken.secretArn },
      ...(c.search && props.search
        ? { search: { ...c.search, adminRoleArn: props.search.adminRoleArn } }
        : { search: undefined }),
    };
    const shared: SharedFunctionParts = functionParts(new Construct(this, 'StepParts'), {
      ...props.functions,
      purpose: 'Failover runbook step',
    });
    const fn = (
      step: Step,
      description: string,
      timeoutSeconds = STEP_TIMEOUT_SECONDS,
      functionName?: string,
    ) =>
      new MeridianFunction(this, `${step}Step`, {
        handler: STEPS[step],
        description: `Failover runbook: ${description}`,
        ...props.functions,
        timeoutSeconds,
        ...(functionName ? { functionName } : {}),
        environment: { MERIDIAN_RUNBOOK: JSON.stringify(config) },
        requiredEnvironment: ['MERIDIAN_RUNBOOK'],
        shared,
      });
    this.functions = {
      Verify: fn('Verify', 'verify the failure with a quorum of signals'),
      Assess: fn('Assess', 'decide between no action, switchover, failover and manual'),
      Lock: fn('Lock', 'acquire the cell lock (lease + fencing token)'),
      Unlock: fn('Unlock', 'release the cell lock'),
      ChooseTarget: fn('ChooseTarget', 'choose the healthy same-jurisdiction target'),
      Fence: fn('Fence', 'snapshot routing and fence the failed region'),
      PromoteAurora: fn(
        'PromoteAurora',
        'switch over or fail over the Aurora global database',
        PROMOTE_STEP_TIMEOUT_SECONDS,
      ),
      PromoteCache: fn(
        'PromoteCache',
        'promote the Global Datastore member',
        PROMOTE_STEP_TIMEOUT_SECONDS,
      ),
      // Named: the failback of another cell region invokes it here (lambda/shared/failover/steps.ts).
      RepointSearch: fn(
        'RepointSearch',
        'repoint OpenSearch replication',
        STEP_TIMEOUT_SECONDS,
        config.search?.steps?.[c.region],
      ),
      ShiftTraffic: fn('ShiftTraffic', 'move Route 53 records and disable the Cloudflare pool'),
      VerifyTarget: fn('VerifyTarget', 'verify the target answers healthy'),
      Record: fn('Record', 'write the event report (timeline, RTO, RPO)'),
      Rollback: fn('Rollback', 'restore routing and unfence after a failed step'),
      CheckOriginal: fn('CheckOriginal', 'failback: is the original region healthy and caught up'),
      RestoreTraffic: fn('RestoreTraffic', 'failback: route the original region to itself again'),
    };
    this.grant(config, lockTableArns, props.functions.key);
    if (props.search && config.search) this.grantSearch(config, props.search);

    const machine = (
      id: string,
      name: string,
      definition: sfn.IChainable,
      timeout: Duration,
      comment: string,
      logsId: string,
    ) =>
      new sfn.StateMachine(this, id, {
        stateMachineName: name,
        stateMachineType: sfn.StateMachineType.STANDARD,
        queryLanguage: sfn.QueryLanguage.JSON_PATH,
        definitionBody: sfn.DefinitionBody.fromChainable(definition),
        timeout,
        tracingEnabled: true,
        logs: {
          destination: encryptedLogGroup(this, logsId, {
            key: props.functions.key,
            retentionDays: props.functions.logRetentionDays,
          }),
          level: sfn.LogLevel.ALL,
          includeExecutionData: true,
        },
        comment,
      });
    this.stateMachine = machine(
      'StateMachine',
      props.names.runbook,
      this.definition(props),
      Duration.hours(1),
      `Meridian failover runbook for cell ${c.cell.jurisdiction}, run from ${c.region}`,
      'ExecutionLogs',
    );
    const fo = props.failover;
    this.failback = machine(
      'Failback',
      props.names.failback,
      this.failbackDefinition(props),
      Duration.hours(fo.approvalTimeoutHours + 2).plus(Duration.minutes(fo.failbackStableMinutes)),
      `Meridian failback for cell ${c.cell.jurisdiction} into the original region, with approval`,
      'FailbackLogs',
    );
    for (const m of [this.stateMachine, this.failback])
      acknowledgeStateMachineRole(
        m,
        Object.values(this.functions).map((f) => f.function),
        'this runbook step',
        'invoke its step functions, publish to its alert topic, deliver its logs',
      );
  }

  /**
   * A step invocation: its result at `resultPath` (undefined: it replaces the state, as Parallel
   * branches need), retried with backoff on throttling, timeouts and Lambda service errors.
   */
  private invoke(name: string, s: Step, resultPath?: string): sfn.TaskStateBase {
    const task = new tasks.LambdaInvoke(this, name, {
      lambdaFunction: this.functions[s].function,
      payloadResponseOnly: true,
      ...(resultPath ? { resultPath } : {}),
      retryOnServiceExceptions: false,
    }).addRetry({
      errors: RETRYABLE,
      interval: Duration.seconds(2),
      maxAttempts: 3,
      backoffRate: 2,
      jitterStrategy: sfn.JitterType.FULL,
    });
    if (s === 'PromoteAurora' || s === 'PromoteCache')
      task.addRetry({ ...PROMOTION_RETRY, errors: [...PROMOTION_RETRY.errors] });
    return task;
  }

  /** Ends a path with its outcome in `$.outcome`. */
  private outcome(name: string, text: string): sfn.Pass {
    return new sfn.Pass(this, name, {
      result: sfn.Result.fromString(text),
      resultPath: '$.outcome',
    });
  }

  /**
   * Failback: the original region must answer healthy now and again after the configured stable
   * time, with its replica caught up; an operator approves (task token through SNS; decline or
   * timeout leave everything as it is); then drain, switch back (RPO 0), restore its routing,
   * verify, record, notify.
   */
  private failbackDefinition(props: FailoverRunbookProps): sfn.IChainable {
    const topic = props.alerts.topics.critical;
    const settings = props.failover;
    const task = (name: string, s: Step, resultPath?: string) => this.invoke(name, s, resultPath);
    const outcome = (name: string, text: string) => this.outcome(name, text);
    const failed = new tasks.SnsPublish(this, 'Failback alert', {
      topic,
      subject: 'Meridian failback failed',
      message: sfn.TaskInput.fromJsonPathAt('$.error'),
      resultPath: sfn.JsonPath.DISCARD,
    })
      .next(task('Failback release lock after error', 'Unlock', '$.unlock'))
      .next(
        new sfn.Fail(this, 'Failback failed', {
          error: 'FailbackFailed',
          causePath: '$.error.Cause',
        }),
      );
    const guarded = <T extends sfn.TaskStateBase | sfn.Parallel>(t: T): T => {
      t.addCatch(failed, { errors: ['States.ALL'], resultPath: '$.error' });
      return t;
    };
    const ready = (name: string, next: sfn.IChainable, notReady: string) =>
      new sfn.Choice(this, name)
        .when(sfn.Condition.booleanEquals('$.check.ready', true), next)
        .otherwise(outcome(`Not ready (${name})`, notReady));

    const approval = new tasks.SnsPublish(this, 'Request approval', {
      topic,
      subject: 'Meridian failback: approval needed',
      integrationPattern: sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
      message: sfn.TaskInput.fromObject({
        'original.$': '$.target.target',
        'current.$': '$.input.failedRegion',
        'check.$': '$.check',
        taskToken: sfn.JsonPath.taskToken,
        approve: `aws stepfunctions send-task-success --task-token <taskToken> --task-output '{"approved":true}'`,
        decline: 'aws stepfunctions send-task-failure --task-token <taskToken> --error Declined',
      }),
      taskTimeout: sfn.Timeout.duration(Duration.hours(settings.approvalTimeoutHours)),
      resultPath: '$.approval',
    });
    approval.addCatch(outcome('Declined', 'declined: nothing changed'), {
      errors: ['Declined'],
      resultPath: '$.error',
    });
    approval.addCatch(outcome('Approval timed out', 'approval timed out: nothing changed'), {
      errors: ['States.Timeout'],
      resultPath: '$.error',
    });

    const switchBack = guarded(
      new sfn.Parallel(this, 'Switch back', { resultPath: '$.promotion' })
        .branch(task('Switch back Aurora', 'PromoteAurora'))
        .branch(task('Switch back cache', 'PromoteCache')),
    );
    // Search (RepointSearch with a phase): the original region's domain catches up by following
    // this one's before the switch back, and leads again after it (this one follows it).
    const searchPhase = (name: string, phase: SearchPhase) =>
      new sfn.Pass(this, name, {
        result: sfn.Result.fromString(phase),
        resultPath: '$.searchPhase',
      });
    const apply = searchPhase('Search catches up', 'failback-catch-up')
      .next(guarded(task('Catch up original search', 'RepointSearch', '$.searchCatchUp')))
      .next(new sfn.Wait(this, 'Drain', { time: sfn.WaitTime.duration(Duration.seconds(30)) }))
      .next(switchBack)
      .next(searchPhase('Search leads from original', 'failback-lead'))
      .next(guarded(task('Original search leads', 'RepointSearch', '$.searchLead')))
      .next(guarded(task('Restore traffic', 'RestoreTraffic', '$.traffic')))
      .next(guarded(task('Verify original', 'VerifyTarget', '$.verifiedTarget')))
      .next(guarded(task('Record failback', 'Record', '$.report')))
      .next(
        new tasks.SnsPublish(this, 'Notify failed back', {
          topic,
          subject: 'Meridian failback completed',
          message: sfn.TaskInput.fromJsonPathAt('$.report'),
          resultPath: sfn.JsonPath.DISCARD,
        }),
      )
      .next(task('Failback release lock', 'Unlock', '$.unlock'))
      .next(outcome('Failed back', 'failed back'));

    const afterApproval = task('Failback acquire lock', 'Lock', '$.lock').next(
      new sfn.Choice(this, 'Failback lock acquired?')
        .when(sfn.Condition.booleanEquals('$.lock.acquired', true), apply)
        .otherwise(outcome('Failback lock held', 'lock held by another execution')),
    );
    const stable = new sfn.Wait(this, 'Stay healthy', {
      time: sfn.WaitTime.duration(Duration.minutes(settings.failbackStableMinutes)),
    })
      .next(task('Check original again', 'CheckOriginal', '$.check'))
      .next(
        ready(
          'Still healthy?',
          approval.next(afterApproval),
          'original not stable: nothing changed',
        ),
      );
    return new sfn.Pass(this, 'Failback start', {
      parameters: {
        input: {
          'cell.$': '$.cell',
          'failedRegion.$': '$.currentRegion',
          'originalRegion.$': '$.originalRegion',
          mode: 'switchover',
        },
        'execution.$': '$$.Execution.Name',
        target: {
          'target.$': '$.originalRegion',
          reason: 'failback to the original region',
          considered: [],
        },
        assessment: {
          action: 'switchover',
          severity: 'info',
          reason: 'failback: planned switchover to the original region (RPO 0)',
        },
      },
    })
      .next(task('Check original', 'CheckOriginal', '$.check'))
      .next(ready('Original healthy?', stable, 'original not healthy: nothing changed'));
  }

  private definition(props: FailoverRunbookProps): sfn.IChainable {
    const topic = props.alerts.topics.critical;
    const step = (name: string, s: Step, resultPath?: string) => this.invoke(name, s, resultPath);
    const notify = (name: string, subject: string, message: sfn.TaskInput) =>
      new tasks.SnsPublish(this, name, {
        topic,
        subject,
        message,
        resultPath: sfn.JsonPath.DISCARD,
      });
    const outcome = (name: string, text: string) => this.outcome(name, text);

    // Rollback path, for any failure after the lock is held.
    const fenced = new sfn.Fail(this, 'Fenced', {
      error: 'FencedError',
      causePath: '$.error.Cause',
    });
    const rolledBack = new sfn.Fail(this, 'Rolled back', {
      error: 'FailoverRolledBack',
      causePath: '$.rollback.summary',
    });
    const rollbackChain = step('Roll back', 'Rollback', '$.rollback')
      .next(
        notify(
          'Alert rollback',
          'Meridian failover rolled back',
          sfn.TaskInput.fromJsonPathAt('$.rollback'),
        ),
      )
      .next(step('Release lock after rollback', 'Unlock', '$.unlock'))
      .next(rolledBack);
    const guarded = <T extends sfn.TaskStateBase | sfn.Parallel>(t: T): T => {
      t.addCatch(fenced, { errors: ['FencedError'], resultPath: '$.error' });
      t.addCatch(rollbackChain, { errors: ['States.ALL'], resultPath: '$.error' });
      return t;
    };

    const manual = notify(
      'Notify manual intervention',
      'Meridian failover needs a decision',
      sfn.TaskInput.fromObject({
        'failedRegion.$': '$.input.failedRegion',
        'assessment.$': '$.assessment',
        'target.$': '$.target',
      }),
    );
    const manualDone = outcome('Manual intervention', 'manual intervention');
    const manualAfterLock = notify(
      'Notify no target',
      'Meridian failover: no healthy target in the jurisdiction',
      sfn.TaskInput.fromObject({
        'failedRegion.$': '$.input.failedRegion',
        'target.$': '$.target',
      }),
    )
      .next(step('Release lock (no target)', 'Unlock', '$.unlock'))
      .next(outcome('No target', 'manual intervention: no healthy target'));

    const promote = guarded(
      new sfn.Parallel(this, 'Promote', { resultPath: '$.promotion' })
        .branch(step('Promote Aurora', 'PromoteAurora'))
        .branch(step('Promote cache', 'PromoteCache'))
        .branch(step('Repoint search', 'RepointSearch')),
    );

    const done = step('Release lock', 'Unlock', '$.unlock').next(
      outcome('Failed over', 'failed over'),
    );
    const main = guarded(step('Fence old region', 'Fence', '$.fenced'))
      .next(promote)
      .next(guarded(step('Shift traffic', 'ShiftTraffic', '$.traffic')))
      .next(guarded(step('Verify target', 'VerifyTarget', '$.verifiedTarget')))
      .next(guarded(step('Record event', 'Record', '$.report')))
      .next(
        notify(
          'Notify done',
          'Meridian failover completed',
          sfn.TaskInput.fromJsonPathAt('$.report'),
        ),
      )
      .next(done);

    const afterLock = new sfn.Choice(this, 'Lock acquired?')
      .when(
        sfn.Condition.booleanEquals('$.lock.acquired', true),
        step('Choose target', 'ChooseTarget', '$.target').next(
          new sfn.Choice(this, 'Target found?')
            .when(sfn.Condition.isPresent('$.target.target'), main)
            .otherwise(manualAfterLock),
        ),
      )
      .otherwise(outcome('Lock held', 'lock held by another execution'));

    return new sfn.Pass(this, 'Start', {
      parameters: { 'input.$': '$', 'execution.$': '$$.Execution.Name' },
    })
      .next(step('Verify failure', 'Verify', '$.verification'))
      .next(step('Assess', 'Assess', '$.assessment'))
      .next(
        new sfn.Choice(this, 'Action?')
          .when(
            sfn.Condition.stringEquals('$.assessment.action', 'none'),
            outcome('No action', 'no action'),
          )
          .when(
            sfn.Condition.stringEquals('$.assessment.action', 'manual'),
            manual.next(manualDone),
          )
          .otherwise(step('Acquire lock', 'Lock', '$.lock').next(afterLock)),
      );
  }

  /** The search step: describe this region's domain, call its REST API as its admin role. */
  private grantSearch(c: RunbookConfig, search: NonNullable<FailoverRunbookProps['search']>): void {
    const step = this.functions.RepointSearch;
    const domain = c.search?.domains[c.region];
    if (!domain) return;
    const arn = `arn:${Aws.PARTITION}:es:${c.region}:${c.account}:domain/${domain}`;
    step.allow('DescribeDomain', ['es:DescribeDomain'], [arn]);
    step.allow(
      'ReplicationApi',
      ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpPut', 'es:ESHttpDelete'],
      [`${arn}/*`],
    );
    // A failback run here invokes the original region's search step, by name, in that region.
    const others = Object.entries(c.search?.steps ?? {}).filter(([r]) => r !== c.region);
    if (others.length > 0)
      step.allow(
        'FailbackSearchStep',
        ['lambda:InvokeFunction'],
        others.map(([r, name]) => `arn:${Aws.PARTITION}:lambda:${r}:${c.account}:function:${name}`),
      );
    search.trustAdmin(step.function.role as iam.IRole);
    acknowledge(step.function.role as iam.IRole, [
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:es:${c.region}:${c.account}:domain/${domain}/*]`,
        reason: `The replication API paths of this region's own domain (${domain}): follower stats, _status, _stop, _start, stale copies, auto-follow rules.`,
      },
    ]);
  }

  private grant(c: RunbookConfig, lockTableArns: string[], key: kms.IKey): void {
    const f = this.functions;
    const allow = (s: Step, sid: string, actions: string[], resources: string[]) =>
      f[s].allow(sid, actions, resources);
    const p = Aws.PARTITION;
    const zone = `arn:${p}:route53:::hostedzone/${c.hostedZoneId}`;
    const lock = ['dynamodb:UpdateItem', 'dynamodb:GetItem'];
    for (const s of [
      'Lock',
      'Unlock',
      'Fence',
      'PromoteAurora',
      'PromoteCache',
      'RepointSearch',
      'ShiftTraffic',
      'Record',
      'Rollback',
      'RestoreTraffic',
    ] as const)
      allow(s, 'CellLock', lock, lockTableArns);
    // Verify reads the watchers' votes (lambda/shared/failover/votes.ts) in the same table.
    allow('Verify', 'Votes', ['dynamodb:GetItem'], lockTableArns);
    // Alarms about each cell region, only where the stacks define them (criticalAlarmHosts).
    const alarmHosts = Object.entries(c.criticalAlarmHosts).flatMap(([about, hosts]) =>
      hosts.map((host) => ({ host, about })),
    );
    allow(
      'Verify',
      'FindHealthCheck',
      ['route53:ListHealthChecks', 'route53:ListTagsForResources', 'route53:GetHealthCheckStatus'],
      ['*'],
    );
    if (alarmHosts.length > 0)
      allow(
        'Verify',
        'CriticalAlarms',
        ['cloudwatch:DescribeAlarms'],
        alarmHosts.map(
          ({ host, about }) =>
            `arn:${p}:cloudwatch:${host}:${c.account}:alarm:${namesOf(c, about).criticalAlarmPrefix}*`,
        ),
      );
    for (const s of ['Fence', 'RestoreTraffic'] as const)
      allow(s, 'ReadRecords', ['route53:ListResourceRecordSets'], [zone]);
    for (const s of ['ShiftTraffic', 'Rollback', 'RestoreTraffic'] as const)
      allow(s, 'ChangeRecords', ['route53:ChangeResourceRecordSets'], [zone]);
    for (const s of ['Fence', 'ShiftTraffic', 'Rollback', 'RestoreTraffic'] as const)
      this.cloudflareToken.grantRead(f[s].function);
    allow(
      'PromoteAurora',
      'GlobalDatabase',
      ['rds:SwitchoverGlobalCluster', 'rds:FailoverGlobalCluster', 'rds:DescribeGlobalClusters'],
      [
        `arn:${p}:rds::${c.account}:global-cluster:${c.cell.globalCluster}`,
        ...c.cell.regions.map(
          (r) => `arn:${p}:rds:${r.id}:${c.account}:cluster:${namesOf(c, r.id).cluster}`,
        ),
      ],
    );
    // Rollback asks Aurora whether the writer has left the failed region before undoing anything.
    allow(
      'Rollback',
      'ReadGlobalDatabase',
      ['rds:DescribeGlobalClusters'],
      [`arn:${p}:rds::${c.account}:global-cluster:${c.cell.globalCluster}`],
    );
    if (c.cell.datastore)
      allow(
        'PromoteCache',
        'GlobalDatastore',
        [
          'elasticache:FailoverGlobalReplicationGroup',
          'elasticache:DescribeGlobalReplicationGroups',
        ],
        [
          `arn:${p}:elasticache::${c.account}:globalreplicationgroup:${c.cell.datastore.id}`,
          ...Object.entries(c.cell.datastore.members).map(
            ([r, rg]) => `arn:${p}:elasticache:${r}:${c.account}:replicationgroup:${rg}`,
          ),
        ],
      );
    allow('Record', 'WriteReport', ['s3:PutObject'], [`arn:${p}:s3:::${c.auditBucket}/failover/*`]);
    allow('Record', 'UseRegionalKey', ['kms:GenerateDataKey', 'kms:Encrypt'], [key.keyArn]);
    acknowledge(f.Verify.function.role as iam.IRole, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'route53:ListHealthChecks and ListTagsForResources support no resource scoping; the step only reads health-check status.',
      },
      ...alarmHosts.map(({ host, about }) => ({
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:cloudwatch:${host}:${c.account}:alarm:${namesOf(c, about).criticalAlarmPrefix}*]`,
        reason: `Reads only the critical alarms about ${about} held in ${host}, named ${namesOf(c, about).criticalAlarmPrefix}*.`,
      })),
    ]);
    acknowledge(f.Record.function.role as iam.IRole, [
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::${c.auditBucket}/failover/*]`,
        reason:
          'Reports are new objects named by date and execution under failover/; PutObject only.',
      },
    ]);
  }
}
