import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import {
  auroraGlobalLag,
  datastoreLag,
  healthCheckStatus,
  queueDepth,
  s3Replication,
  stateMachineMetric,
  syncMetric,
  syncSuccessRate,
} from './meridian-metrics';

export interface RegionalDashboardProps {
  readonly region: string;
  /** `<platform>-<env>-<region>`. */
  readonly dashboardName: string;
  /** The region's Aurora cluster when it is a global secondary (lag is measured there). */
  readonly auroraSecondaryCluster?: string;
  /** The region's cache replication group. */
  readonly cacheReplicationGroupId: string;
  /** Buckets whose replication (latency, pending operations) to show. */
  readonly replicatingBuckets: readonly string[];
  /** Sync queues; the sync widgets appear only in regions that run sync. */
  readonly sync?: { readonly inboundQueue: string; readonly deadLetterQueue: string };
  readonly healthChecks: readonly { readonly id: string; readonly label: string }[];
  readonly stateMachines: readonly { readonly arn: string; readonly label: string }[];
  /** Alarms to show by severity (their names start `critical`/`warning`/`info` or carry it). */
  readonly alarms: readonly cloudwatch.IAlarm[];
}

/**
 * The operator's view of one region, top to bottom in the order of an incident: alarms, health
 * checks, replication lag (Aurora Global, Global Datastore, S3), sync (throughput, success
 * against the 99.9% objective, lag, conflicts, dead letters), failover executions.
 */
export class RegionalDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: RegionalDashboardProps) {
    super(scope, id);
    const r = props.region;
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, region: r, ...extra });
    const rows: cloudwatch.IWidget[][] = [
      [
        new cloudwatch.TextWidget({
          markdown: `# Meridian ${r}\nAlarms first (red = act now; the runbook link is in each alarm's description), then replication, sync and failover. Critical alarms page, warnings go to chat, info is for the record.`,
          width: 24,
          height: 2,
        }),
      ],
      [
        new cloudwatch.AlarmStatusWidget({
          title: 'Alarms',
          alarms: [...props.alarms],
          width: 24,
          height: 4,
          sortBy: cloudwatch.AlarmStatusWidgetSortBy.STATE_UPDATED_TIMESTAMP,
        }),
      ],
      [
        graph(
          'Health checks (1 = healthy)',
          props.healthChecks.map((h) => healthCheckStatus(h.id, h.label)),
          { region: 'us-east-1', leftYAxis: { min: 0, max: 1 } },
        ),
        graph(
          'Aurora global lag (ms)',
          props.auroraSecondaryCluster ? [auroraGlobalLag(r, props.auroraSecondaryCluster)] : [],
        ),
        graph('Global Datastore lag (s)', [datastoreLag(r, props.cacheReplicationGroupId)]),
      ],
      [
        graph(
          'S3 replication latency (s)',
          props.replicatingBuckets.map((b) => s3Replication(r, b, 'ReplicationLatency')),
        ),
        graph(
          'S3 operations pending replication',
          props.replicatingBuckets.map((b) => s3Replication(r, b, 'OperationsPendingReplication')),
        ),
        graph(
          'Failover executions',
          props.stateMachines.flatMap((m) => [
            stateMachineMetric(r, m.arn, 'ExecutionsStarted', `${m.label} started`),
            stateMachineMetric(r, m.arn, 'ExecutionsFailed', `${m.label} failed`),
          ]),
        ),
      ],
    ];
    if (props.sync) {
      rows.push([
        graph('Sync throughput (records / 5 min)', [
          syncMetric(r, 'sync-dispatch', 'RecordsSynced'),
          syncMetric(r, 'sync-apply', 'RecordsApplied'),
        ]),
        graph('Sync success % (objective 99.9)', [syncSuccessRate(r, Duration.hours(1))], {
          leftYAxis: { min: 99, max: 100 },
          leftAnnotations: [{ value: 99.9, label: 'SLO 99.9%', color: '#d62728' }],
        }),
        graph(
          'Sync lag (s) and conflicts',
          [syncMetric(r, 'sync-apply', 'SyncLagSeconds', 'Maximum')],
          {
            right: [syncMetric(r, 'sync-apply', 'Conflicts')],
          },
        ),
      ]);
      rows.push([
        graph('Sync queues (messages)', [
          queueDepth(r, props.sync.inboundQueue, 'inbound'),
          queueDepth(r, props.sync.deadLetterQueue, 'dead letters'),
        ]),
        graph('Parked and rejected records', [
          syncMetric(r, 'sync-dispatch', 'RecordsParked'),
          syncMetric(r, 'sync-apply', 'RecordsParked'),
          syncMetric(r, 'sync-apply', 'ResidencyRejected'),
        ]),
      ]);
    }
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: rows,
    });
  }
}
