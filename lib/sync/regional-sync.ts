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
import { formatLeaseLocation } from '../../lambda/shared/sync/writers';
import { acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import type { Settings } from '../config/schema';
import type { AuroraGlobal } from '../data/aurora-global';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import { ResidencyPlanLayer } from '../functions/residency-plan-layer';
import type { Naming } from '../naming';
import { syncMetric, syncSuccessRate } from '../observability/meridian-metrics';
import type { RegionalAlerts } from '../observability/regional-alerts';
import type { SyncCell } from '../regional/derivations';
import { LineageTable } from './lineage-table';
import type { SyncQueues } from './sync-queues';
import { SyncSchema } from './sync-schema';

export interface RegionalSyncProps {
  readonly region: string;
  readonly account: string;
  /**
   * The other cells this region's outbox sends to (residency plan): each to whichever of its
   * regions holds the cell's writer lease when the record is sent.
   */
  readonly targets: readonly SyncCell[];
  /** This region's own cell: what reaches a region that is not the writer is forwarded in it. */
  readonly ownCell: SyncCell;
  /** Same-jurisdiction regions the pseudonymisation key is replicated to (never beyond). */
  readonly jurisdictionPeers: readonly string[];
  readonly jurisdiction: string;
  /**
   * The region creates the cell's pseudonymisation key (its plan primary); the others read the
   * replica, by name.
   */
  readonly createsPseudonymKey: boolean;
  /** Names of the target regions' queues and the key alias every region shares. */
  readonly naming: Naming;
  /** VPC, regional key (also the pseudonymisation key's), logs, memory (at least 512 MB here). */
  readonly functions: FunctionDefaults;
  readonly planLayer: lambda.ILayerVersion;
  readonly queues: SyncQueues;
  /** This region's member of the cell's Aurora global database: sync connects to its own. */
  readonly aurora: AuroraGlobal;
  /**
   * The cache's AUTH token, where this region defines it (a Global Datastore primary).
   * @default - none: apply cannot invalidate here (a secondary's cache takes no writes), it says
   * so in its report
   */
  readonly cacheSecret?: secretsmanager.ISecret;
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
 * The sync pipeline of one region of a cell: the dispatch function on its schedule, the apply
 * function on the inbound queue, the cell's pseudonymisation key, least-privilege IAM, and alarms
 * on dead letters, residency rejections, lag and errors. Every region of a cell has it; it acts
 * only while the region is its cell's writer (its database takes writes), so sync follows the
 * writer through a failover with nothing to deploy.
 */
export class RegionalSync extends Construct {
  readonly dispatch: MeridianFunction;
  readonly apply: MeridianFunction;
  /** Returns parked records once their cause is fixed; invoked on demand, never on a schedule. */
  readonly redrive: MeridianFunction;
  readonly schedule: events.Rule;
  /** Starts the relay every minute; absent when `sync.relaySeconds` is 0. */
  readonly relay?: events.Rule;
  readonly pseudonymKey: secretsmanager.ISecret;
  /** The sync tables, created and migrated at deploy on the cell's writer. */
  readonly schema: SyncSchema;
  /** The audit bucket's lineage as an Athena table (lineage-table.ts). */
  readonly lineage: LineageTable;
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

    const pseudonymKeyName = naming.pseudonymKey(props.jurisdiction);
    this.pseudonymKey = props.createsPseudonymKey
      ? this.createPseudonymKey(pseudonymKeyName, props)
      : secretsmanager.Secret.fromSecretNameV2(this, 'PseudonymKey', pseudonymKeyName);

    const common = {
      ...props.functions,
      memoryMb: Math.max(props.functions.memoryMb, 512),
      layers: [props.planLayer],
    };
    const leases = (cells: readonly SyncCell[]) =>
      JSON.stringify(Object.fromEntries(cells.map((c) => [c.cell, formatLeaseLocation(c.lease)])));
    const queuesOf = (regions: readonly string[]) =>
      JSON.stringify(Object.fromEntries(regions.map((r) => [r, queueUrl(r)])));
    const targetRegions = props.targets.flatMap((c) => c.regions);
    const cellPeers = props.ownCell.regions.filter((r) => r !== props.region);
    const shared = {
      MERIDIAN_REGION: props.region,
      MERIDIAN_RESIDENCY_PLAN_FILE: ResidencyPlanLayer.PLAN_FILE,
      MERIDIAN_DB_HOST: props.aurora.cluster.clusterEndpoint.hostname,
      MERIDIAN_DEAD_LETTER_URL: props.queues.deadLetter.queueUrl,
      MERIDIAN_AUDIT_BUCKET: props.auditBucket.bucketName,
      MERIDIAN_MAX_ATTEMPTS: String(props.sync.maxAttempts),
      MERIDIAN_REGION_STATE_TABLE: props.regionStateTable,
      MERIDIAN_REGION_STATE_REGION: props.regionStateRegion,
    };
    this.dispatch = new MeridianFunction(this, 'Dispatch', {
      ...common,
      handler: 'sync-dispatch',
      description:
        "Sync dispatch (acts while this region is its cell's writer): outbox → residency check → masking → each target cell's writer",
      timeoutSeconds: 300,
      environment: {
        ...shared,
        MERIDIAN_PSEUDONYM_SECRET_ARN: this.pseudonymKey.secretArn,
        MERIDIAN_KMS_KEY_ARN: key.keyArn,
        MERIDIAN_TARGET_QUEUES: queuesOf(targetRegions),
        MERIDIAN_WRITER_LEASES: leases(props.targets),
        MERIDIAN_BATCH_SIZE: String(props.sync.batchSize),
        ...(props.sync.relaySeconds > 0
          ? { MERIDIAN_RELAY_SECONDS: String(props.sync.relaySeconds) }
          : {}),
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_DB_HOST', 'MERIDIAN_TARGET_QUEUES'],
    });
    this.apply = new MeridianFunction(this, 'Apply', {
      ...common,
      handler: 'sync-apply',
      description:
        "Sync apply: inbound queue → checks on the sender → conflict resolution → upsert; forwarded to the cell's writer when this region is not",
      // The inbound queue's visibility timeout (6 min) is six times this.
      timeoutSeconds: 60,
      environment: {
        ...shared,
        ...(props.cacheSecret ? { MERIDIAN_CACHE_SECRET_ARN: props.cacheSecret.secretArn } : {}),
        MERIDIAN_CACHE_ENDPOINT: props.cacheEndpoint,
        MERIDIAN_MAX_CLOCK_AHEAD_MS: String(props.sync.maxClockAheadSeconds * 1000),
        MERIDIAN_CELL_QUEUES: queuesOf(cellPeers),
        MERIDIAN_WRITER_LEASES: leases([props.ownCell]),
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_DB_HOST', 'MERIDIAN_CACHE_ENDPOINT'],
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
        'MERIDIAN_DB_HOST',
        'MERIDIAN_DEAD_LETTER_URL',
        'MERIDIAN_INBOUND_URL',
      ],
    });
    this.schema = new SyncSchema(this, 'Schema', {
      region: props.region,
      aurora: props.aurora,
      functions: props.functions,
    });
    this.lineage = new LineageTable(this, 'Lineage', {
      naming,
      region: props.region,
      auditBucket: props.auditBucket,
      key,
    });
    this.apply.function.addEventSource(
      new SqsEventSource(props.queues.inbound, { batchSize: 10, reportBatchItemFailures: true }),
    );

    // Least privilege, no wildcard actions. Each function reads the cell's master secret in its
    // own region, by name, and connects to its own region's cluster.
    for (const fn of [this.dispatch, this.apply, this.redrive]) props.aurora.grantCredentials(fn);
    this.pseudonymKey.grantRead(this.dispatch.function);
    props.cacheSecret?.grantRead(this.apply.function);
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
    const sendTo = (fn: MeridianFunction, sid: string, regions: readonly string[]) => {
      if (regions.length === 0) return;
      const role = fn.function.role as iam.IRole;
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: `SendTo${sid}InboundQueues`,
          actions: ['sqs:SendMessage'],
          resources: regions.map(queueArn),
        }),
      );
      // Each queue is encrypted with its region's Meridian key, found by its alias.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          sid: `EncryptFor${sid}Queues`,
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: regions.map((r) => `arn:${Aws.PARTITION}:kms:${r}:${props.account}:key/*`),
          conditions: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${naming.keyAlias}` },
          },
        }),
      );
      for (const r of regions)
        acknowledge(role, [
          {
            pack: PACKS.aws,
            rule: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:kms:${r}:${props.account}:key/*]`,
            reason: `Inbound queue keys live in ${r} and are known by alias only (no cross-region reference); the condition limits use to keys aliased alias/${naming.keyAlias}.`,
          },
        ]);
    };
    sendTo(this.dispatch, 'Target', targetRegions);
    sendTo(this.apply, 'Cell', cellPeers);
    // Each cell's writer lease, read where the cell's lock lives (strongly consistent reads).
    const leaseTables = (cells: readonly SyncCell[]) =>
      cells.flatMap((c) =>
        c.lease.endpoints.map(
          (r) => `arn:${Aws.PARTITION}:dynamodb:${r}:${props.account}:table/${c.lease.table}`,
        ),
      );
    // A platform of one cell has no target: no statement (one without a resource is invalid).
    if (props.targets.length > 0)
      this.dispatch.allow('ReadWriterLeases', ['dynamodb:GetItem'], leaseTables(props.targets));
    this.apply.allow('ReadWriterLease', ['dynamodb:GetItem'], leaseTables([props.ownCell]));

    this.schedule = new events.Rule(this, 'Schedule', {
      description: `Dispatch the ${props.region} outbox every ${props.sync.scheduleMinutes} min`,
      schedule: events.Schedule.rate(Duration.minutes(props.sync.scheduleMinutes)),
      targets: [new targets.LambdaFunction(this.dispatch.function, { retryAttempts: 2 })],
    });

    // The relay: one invocation a minute listens for commits for relaySeconds (> 60, so two
    // overlap at the handover) and sends the realtime classes as they commit.
    if (props.sync.relaySeconds > 0)
      this.relay = new events.Rule(this, 'Relay', {
        description: `Relay the ${props.region} outbox's realtime classes as they commit (LISTEN/NOTIFY), ${props.sync.relaySeconds} s per invocation`,
        schedule: events.Schedule.rate(Duration.minutes(1)),
        targets: [
          new targets.LambdaFunction(this.dispatch.function, {
            event: events.RuleTargetInput.fromObject({ relay: true }),
            retryAttempts: 2,
          }),
        ],
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
    const realtimeLag = new cloudwatch.Alarm(this, 'RealtimeLag', {
      alarmDescription: `Realtime-class sync into ${props.region} slower than ${props.sync.realtimeLagAlarmMs} ms (p99, two minutes running): check the relay (dispatch) and the apply function's errors and throttles`,
      metric: syncMetric(
        props.region,
        'sync-apply',
        'RealtimeLagMilliseconds',
        'p99',
        Duration.minutes(1),
      ),
      threshold: props.sync.realtimeLagAlarmMs,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    props.alerts.route(realtimeLag, 'critical');
    this.alarms.push(realtimeLag);
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

  /** The cell's pseudonymisation key, in its plan primary's region, replicated inside the cell. */
  private createPseudonymKey(name: string, props: RegionalSyncProps): secretsmanager.Secret {
    const secret = new secretsmanager.Secret(this, 'PseudonymKey', {
      secretName: name,
      description: `HMAC key for pseudonymised exports of ${props.jurisdiction} records (replicated only inside ${props.jurisdiction})`,
      encryptionKey: props.functions.key,
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      replicaRegions: props.jurisdictionPeers.map((region) => ({ region })),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    acknowledge(secret, [
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
    return secret;
  }
}
