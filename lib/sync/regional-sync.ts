import { Aws, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import type { Settings } from '../config/schema';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import { ResidencyPlanLayer } from '../functions/residency-plan-layer';
import type { Naming } from '../naming';
import { syncMetric, syncSuccessRate } from '../observability/meridian-metrics';
import type { RegionalAlerts } from '../observability/regional-alerts';
import type { SyncQueues } from './sync-queues';

export interface RegionalSyncProps {
  readonly region: string;
  readonly account: string;
  /** Writers of the other cells this region sends to (residency plan). */
  readonly targets: readonly string[];
  /** Same-jurisdiction regions the pseudonymisation key is replicated to (never beyond). */
  readonly jurisdictionPeers: readonly string[];
  readonly jurisdiction: string;
  /** Names of the target regions' queues and the key alias every region shares. */
  readonly naming: Naming;
  /** VPC, regional key (also the pseudonymisation key's), logs, memory (at least 512 MB here). */
  readonly functions: FunctionDefaults;
  readonly planLayer: lambda.ILayerVersion;
  readonly queues: SyncQueues;
  readonly dbSecret: secretsmanager.ISecret;
  readonly cacheSecret: secretsmanager.ISecret;
  /** `host:port` of the cache primary endpoint. */
  readonly cacheEndpoint: string;
  readonly auditBucket: s3.IBucket;
  readonly alerts: RegionalAlerts;
  readonly sync: Settings['sync'];
  /** The cell's lock table, where the runbook marks a region fenced (sync stands down). */
  readonly regionStateTable: string;
  /** The region whose lock-table endpoint holds the region state (the cell's lock plan). */
  readonly regionStateRegion: string;
}

/**
 * The sync pipeline of one writer region: the dispatch function on its schedule, the apply
 * function on the inbound queue, the jurisdiction's pseudonymisation key, least-privilege IAM,
 * and alarms on dead letters, residency rejections, lag and errors.
 */
export class RegionalSync extends Construct {
  readonly dispatch: MeridianFunction;
  readonly apply: MeridianFunction;
  /** Returns parked records once their cause is fixed; invoked on demand, never on a schedule. */
  readonly redrive: MeridianFunction;
  readonly schedule: events.Rule;
  readonly pseudonymKey: secretsmanager.Secret;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: RegionalSyncProps) {
    super(scope, id);
    const { naming } = props;
    const key = props.functions.key;
    // Target inbound queues by name (no cross-region reference).
    const queueUrl = (r: string) =>
      `https://sqs.${r}.amazonaws.com/${props.account}/${naming.syncInboundQueue(r)}`;
    const queueArn = (r: string) =>
      `arn:${Aws.PARTITION}:sqs:${r}:${props.account}:${naming.syncInboundQueue(r)}`;

    this.pseudonymKey = new secretsmanager.Secret(this, 'PseudonymKey', {
      description: `HMAC key for pseudonymised exports of ${props.jurisdiction} records (replicated only inside ${props.jurisdiction})`,
      encryptionKey: key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      replicaRegions: props.jurisdictionPeers.map((region) => ({ region })),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(this.pseudonymKey, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-SMG4',
        reason:
          'Rotating the pseudonymisation key changes every token and breaks joins on masked records; it is re-keyed deliberately, with a re-export, not on a timer.',
      },
      ...inAllPacks(
        'SecretsManagerRotationEnabled',
        'Rotating the pseudonymisation key changes every token and breaks joins on masked records; re-keying is a deliberate re-export.',
      ),
    ]);

    const common = {
      ...props.functions,
      memoryMb: Math.max(props.functions.memoryMb, 512),
      layers: [props.planLayer],
    };
    const shared = {
      MERIDIAN_REGION: props.region,
      MERIDIAN_RESIDENCY_PLAN_FILE: ResidencyPlanLayer.PLAN_FILE,
      MERIDIAN_DB_SECRET_ARN: props.dbSecret.secretArn,
      MERIDIAN_DEAD_LETTER_URL: props.queues.deadLetter.queueUrl,
      MERIDIAN_AUDIT_BUCKET: props.auditBucket.bucketName,
      MERIDIAN_MAX_ATTEMPTS: String(props.sync.maxAttempts),
      MERIDIAN_REGION_STATE_TABLE: props.regionStateTable,
      MERIDIAN_REGION_STATE_REGION: props.regionStateRegion,
    };
    this.dispatch = new MeridianFunction(this, 'Dispatch', {
      ...common,
      handler: 'sync-dispatch',
      description: 'Sync dispatch: outbox → residency check → masking → target inbound queues',
      timeoutSeconds: 300,
      environment: {
        ...shared,
        MERIDIAN_PSEUDONYM_SECRET_ARN: this.pseudonymKey.secretArn,
        MERIDIAN_KMS_KEY_ARN: key.keyArn,
        MERIDIAN_TARGET_QUEUES: JSON.stringify(
          Object.fromEntries(props.targets.map((t) => [t, queueUrl(t)])),
        ),
        MERIDIAN_BATCH_SIZE: String(props.sync.batchSize),
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_DB_SECRET_ARN', 'MERIDIAN_TARGET_QUEUES'],
    });
    this.apply = new MeridianFunction(this, 'Apply', {
      ...common,
      handler: 'sync-apply',
      description: 'Sync apply: inbound queue → residency re-check → conflict resolution → upsert',
      // The inbound queue's visibility timeout (6 min) is six times this.
      timeoutSeconds: 60,
      environment: {
        ...shared,
        MERIDIAN_CACHE_SECRET_ARN: props.cacheSecret.secretArn,
        MERIDIAN_CACHE_ENDPOINT: props.cacheEndpoint,
        MERIDIAN_MAX_CLOCK_AHEAD_MS: String(props.sync.maxClockAheadSeconds * 1000),
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_DB_SECRET_ARN', 'MERIDIAN_CACHE_ENDPOINT'],
    });
    this.redrive = new MeridianFunction(this, 'Redrive', {
      ...common,
      handler: 'sync-redrive',
      description:
        'Sync redrive (on demand): dead letters → outbox rows pending again, inbound messages back on the inbound queue',
      // The dead-letter queue hides what a redrive received for 6 minutes, longer than this.
      timeoutSeconds: 300,
      environment: {
        ...shared,
        MERIDIAN_INBOUND_URL: props.queues.inbound.queueUrl,
      },
      requiredEnvironment: [
        'MERIDIAN_REGION',
        'MERIDIAN_DB_SECRET_ARN',
        'MERIDIAN_DEAD_LETTER_URL',
        'MERIDIAN_INBOUND_URL',
      ],
    });
    this.apply.function.addEventSource(
      new SqsEventSource(props.queues.inbound, { batchSize: 10, reportBatchItemFailures: true }),
    );

    // Least privilege, no wildcard actions.
    props.dbSecret.grantRead(this.dispatch.function);
    props.dbSecret.grantRead(this.apply.function);
    props.dbSecret.grantRead(this.redrive.function);
    this.pseudonymKey.grantRead(this.dispatch.function);
    props.cacheSecret.grantRead(this.apply.function);
    // Explicit statements instead of CDK's grant helpers, which add wildcard actions
    // (kms:GenerateDataKey*, kms:ReEncrypt*, s3:Abort*).
    const auditBucketId = Stack.of(this).getLogicalId(
      props.auditBucket.node.defaultChild as s3.CfnBucket,
    );
    for (const fn of [this.dispatch, this.apply])
      fn.allow('ParkInDeadLetterQueue', ['sqs:SendMessage'], [props.queues.deadLetter.queueArn]);
    for (const [fn, kind] of [
      [this.dispatch, 'dispatch'],
      [this.apply, 'apply'],
      [this.redrive, 'redrive'],
    ] as const) {
      fn.allow(
        'UseRegionalKey',
        ['kms:GenerateDataKey', 'kms:Encrypt', 'kms:Decrypt'],
        [key.keyArn],
      );
      fn.allow('WriteAudit', ['s3:PutObject'], [props.auditBucket.arnForObjects(`sync/${kind}/*`)]);
      fn.allow(
        'ReadRegionState',
        ['dynamodb:GetItem'],
        [
          `arn:${Aws.PARTITION}:dynamodb:${props.regionStateRegion}:${props.account}:table/${props.regionStateTable}`,
        ],
      );
      acknowledge(fn.function.role as iam.IRole, [
        {
          pack: PACKS.aws,
          rule: `AwsSolutions-IAM5[Resource::<${auditBucketId}.Arn>/sync/${kind}/*]`,
          reason: `Audit records are new objects named by date and correlation id under sync/${kind}/; PutObject only, in the Object Lock bucket.`,
        },
      ]);
    }
    this.redrive.allow(
      'ReadDeadLetters',
      ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility'],
      [props.queues.deadLetter.queueArn],
    );
    this.redrive.allow(
      'ReturnToInboundQueue',
      ['sqs:SendMessage'],
      [props.queues.inbound.queueArn],
    );
    const dispatchRole = this.dispatch.function.role as iam.IRole;
    if (props.targets.length > 0) {
      dispatchRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'SendToTargetInboundQueues',
          actions: ['sqs:SendMessage'],
          resources: props.targets.map(queueArn),
        }),
      );
      // Each target queue is encrypted with that region's Meridian key, found by its alias.
      dispatchRole.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptForTargetQueues',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: props.targets.map(
            (t) => `arn:${Aws.PARTITION}:kms:${t}:${props.account}:key/*`,
          ),
          conditions: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${naming.keyAlias}` },
          },
        }),
      );
      for (const t of props.targets)
        acknowledge(dispatchRole, [
          {
            pack: PACKS.aws,
            rule: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${t}:${props.account}:key/*]`,
            reason: `Target queue keys live in ${t} and are known by alias only (no cross-region reference); the condition limits use to keys aliased alias/${naming.keyAlias}.`,
          },
        ]);
    }

    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Dispatch the ${props.region} outbox every ${props.sync.scheduleMinutes} min`,
      schedule: events.Schedule.rate(Duration.minutes(props.sync.scheduleMinutes)),
      targets: [new targets.LambdaFunction(this.dispatch.function, { retryAttempts: 2 })],
    });

    /** A metric the apply function publishes (Powertools: dimensions service and Region). */
    const applyMetric = (name: string, statistic = 'Sum') =>
      syncMetric(props.region, 'sync-apply', name, statistic);
    const alarm = (
      id: string,
      severity: 'critical' | 'warning',
      description: string,
      m: cloudwatch.IMetric,
      threshold: number,
    ) => {
      const a = new cloudwatch.Alarm(this, id, {
        alarmDescription: description,
        metric: m,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      props.alerts.route(a, severity);
      this.alarms.push(a);
      return a;
    };
    alarm(
      'DeadLetters',
      'critical',
      `Sync records parked in ${props.region}'s dead-letter queue: read the reason attribute of each message`,
      props.queues.deadLetter.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      1,
    );
    alarm(
      'ResidencyRejected',
      'critical',
      `A record reached ${props.region} that apply refuses (the residency plan does not allow it here, it came from outside its home cell, its clock is too far ahead, or its body is too large); it was parked in the dead-letter queue with the reason`,
      applyMetric('ResidencyRejected'),
      1,
    );
    alarm(
      'Lag',
      'warning',
      `Sync lag into ${props.region} above ${props.sync.lagAlarmSeconds} s`,
      applyMetric('SyncLagSeconds', 'Maximum'),
      props.sync.lagAlarmSeconds,
    );
    // The sync objective: 99.9% of the records settled in an hour reach their target (applied or
    // already there); parked and residency-rejected records count against it.
    const slo = new cloudwatch.Alarm(this, 'SuccessObjective', {
      alarmDescription: `Sync success in ${props.region} below the 99.9% objective over the last hour: read the dead-letter reasons and the dispatch audit records`,
      metric: syncSuccessRate(props.region, Duration.hours(1)),
      threshold: 99.9,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alerts.route(slo, 'critical');
    this.alarms.push(slo);
    for (const fn of [this.dispatch, this.apply])
      alarm(
        `${fn === this.dispatch ? 'Dispatch' : 'Apply'}Errors`,
        'warning',
        `${fn.function.node.id} errors in ${props.region}`,
        fn.function.metricErrors({ period: Duration.minutes(5) }),
        1,
      );
  }
}
