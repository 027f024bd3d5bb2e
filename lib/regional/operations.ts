import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { RunbookConfig } from '../../lambda/shared/failover/config';
import type { MeridianConfig } from '../config/load';
import type { RegionConfig } from '../config/schema';
import { FailoverRunbook } from '../failover/failover-runbook';
import type { HostedLock } from '../failover/lock-plan';
import { RegionWatch, regionWatchPlan } from '../failover/region-watch';
import type { FunctionDefaults } from '../functions/function-defaults';
import type { Naming } from '../naming';
import { ConfigDrift } from '../observability/config-drift';
import { GlobalDashboard, type GlobalDashboardRegion } from '../observability/global-dashboard';
import type { RegionalAlerts } from '../observability/regional-alerts';
import { RegionalDashboard } from '../observability/regional-dashboard';
import type { RegionalRouting } from '../routing/regional-routing';
import type { SyncQueues } from '../sync/sync-queues';

/** Meridian's own version, stamped into every region's fingerprint. */
const MERIDIAN_VERSION = (
  JSON.parse(readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    version: string;
  }
).version;

export interface RegionalOperationsProps {
  /** The region's fingerprint is hashed from the config (see ConfigDrift). */
  readonly config: MeridianConfig;
  readonly region: RegionConfig;
  readonly naming: Naming;
  /** The runbook's configuration (failoverRunbookConfig). */
  readonly runbook: RunbookConfig;
  /** The cells' lock tables this region is the home of (hostedLocks). */
  readonly locks: readonly HostedLock[];
  /** The region's search domain admin (the runbook's search step assumes its role). */
  readonly search?: { readonly adminRoleArn: string; trustAdmin(role: iam.IRole): void };
  /** @default - no replication-lag widgets (the region is no Aurora global secondary) */
  readonly replicaCluster?: string;
  readonly functions: FunctionDefaults;
  readonly alerts: RegionalAlerts;
  readonly auditBucket: s3.IBucket;
  /** Buckets whose replication the dashboard shows (those with replication rules). */
  readonly replicatingBuckets: readonly string[];
  /** @default - no sync widgets (the region runs no sync pipeline) */
  readonly syncQueues?: SyncQueues;
  readonly routing: RegionalRouting;
  /** @default - this stack carries no global dashboard */
  readonly globalDashboard?: readonly GlobalDashboardRegion[];
}

/**
 * Running the region: the failover runbook (and an info alarm whenever it runs), the hourly
 * config-drift check, and the dashboards (built last: they list every alarm of the stack). Builds
 * into `scope` itself (no construct of its own), so no construct path or logical id moved.
 */
export class RegionalOperations {
  /** The failover runbook (every region has one, to run from the region it activates). */
  readonly failover: FailoverRunbook;
  /** Detection and start for the regions this one would take over from (none: undefined). */
  readonly watch?: RegionWatch;
  /** This region's deployed fingerprint and the hourly drift check across regions. */
  readonly drift: ConfigDrift;
  /** The operator's dashboard of this region. */
  readonly dashboard: RegionalDashboard;
  /** The all-regions dashboard, in the one stack that hosts it (globalDashboardRegion). */
  readonly globalDashboard?: GlobalDashboard;

  constructor(scope: Construct, props: RegionalOperationsProps) {
    const { naming, region } = props;
    this.failover = new FailoverRunbook(scope, 'Failover', {
      config: props.runbook,
      lockTables: props.locks,
      functions: props.functions,
      auditBucket: props.auditBucket,
      alerts: props.alerts,
      failover: region.settings.failover,
      names: { runbook: naming.runbook(region.id), failback: naming.failback(region.id) },
      ...(props.search ? { search: props.search } : {}),
    });
    // Per state machine: a start is for the record (info); an execution that ends FAILED
    // (refused, rolled back, lock out of reach) pages, since what it left half done needs a person.
    const machines = [
      ['Failover', this.failover.stateMachine, 'A failover'],
      ['Failback', this.failover.failback, 'A failback'],
    ] as const;
    for (const [name, machine, what] of machines)
      for (const [id, metric, severity, description] of [
        [
          `${name}Started`,
          machine.metricStarted({ period: Duration.minutes(5), statistic: 'Sum' }),
          'info',
          `${what} execution started in ${region.id}; its report is in the audit bucket under failover/`,
        ],
        [
          `${name}Failed`,
          machine.metricFailed({ period: Duration.minutes(1), statistic: 'Sum' }),
          'critical',
          `${what} execution in ${region.id} FAILED (refused, rolled back or out of reach of its lock): read its execution history and the rollback alert`,
        ],
      ] as const)
        props.alerts.route(
          new cloudwatch.Alarm(scope, id, {
            alarmDescription: description,
            metric,
            threshold: 1,
            evaluationPeriods: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          }),
          severity,
        );
    // Before the dashboard, which lists every alarm of the stack.
    const watch = regionWatchPlan(props.config, region.id);
    if (watch.watched.length > 0)
      this.watch = new RegionWatch(scope, 'RegionWatch', {
        ...watch,
        naming,
        runbook: this.failover.stateMachine,
        alerts: props.alerts,
        functions: props.functions,
      });
    this.drift = new ConfigDrift(scope, 'ConfigDrift', {
      config: props.config,
      region,
      version: MERIDIAN_VERSION,
      functions: props.functions,
      alerts: props.alerts,
    });
    this.dashboard = new RegionalDashboard(scope, 'Dashboard', {
      region: region.id,
      dashboardName: naming.region(region.id),
      auroraSecondaryCluster: props.replicaCluster,
      cacheReplicationGroupId: naming.region(region.id),
      replicatingBuckets: props.replicatingBuckets,
      sync: props.syncQueues && {
        inboundQueue: props.syncQueues.inbound.queueName,
        deadLetterQueue: props.syncQueues.deadLetter.queueName,
      },
      healthChecks: [
        { id: props.routing.regionCheck.healthCheckId, label: `${region.id} (calculated)` },
        { id: props.routing.endpointCheck.healthCheckId, label: `${region.id} /health` },
      ],
      stateMachines: [
        { arn: this.failover.stateMachine.stateMachineArn, label: 'failover' },
        { arn: this.failover.failback.stateMachineArn, label: 'failback' },
      ],
      alarms: Stack.of(scope)
        .node.findAll()
        .filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm)
        .sort((a, b) => a.node.path.localeCompare(b.node.path)),
    });
    if (props.globalDashboard)
      this.globalDashboard = new GlobalDashboard(scope, 'GlobalDashboard', {
        dashboardName: naming.globalDashboard,
        regions: props.globalDashboard,
      });
  }
}
