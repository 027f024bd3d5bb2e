import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { Construct } from 'constructs';
import {
  allHealthChecks,
  auroraGlobalLag,
  datastoreLag,
  queueDepth,
  stateMachineMetric,
  syncMetric,
  syncSuccessRate,
} from './meridian-metrics';

export interface GlobalDashboardRegion {
  readonly region: string;
  readonly jurisdiction: string;
  /** Aurora cluster id when the region is a global secondary. */
  readonly auroraSecondaryCluster?: string;
  readonly cacheReplicationGroupId: string;
  /** Dead-letter queue name when the region runs sync. */
  readonly syncDeadLetterQueue?: string;
  readonly failoverStateMachineArn: string;
}

export interface GlobalDashboardProps {
  /** `<platform>-<env>-global`. */
  readonly dashboardName: string;
  readonly regions: readonly GlobalDashboardRegion[];
}

/**
 * Every region on one page (one dashboard, deployed with one regional stack; each metric names
 * its own region): health checks, replication lag per cell, sync success and dead letters per
 * writer, failover executions. The place to look first when something is red.
 */
export class GlobalDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: GlobalDashboardProps) {
    super(scope, id);
    const regions = [...props.regions].sort((a, b) => a.region.localeCompare(b.region));
    const writers = regions.filter((r) => r.syncDeadLetterQueue);
    const graph = (
      title: string,
      left: cloudwatch.IMetric[],
      extra: Partial<cloudwatch.GraphWidgetProps> = {},
    ) => new cloudwatch.GraphWidget({ title, left, width: 12, height: 6, ...extra });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      widgets: [
        [
          new cloudwatch.TextWidget({
            markdown: `# Meridian, all regions\n${regions.map((r) => `\`${r.region}\` (${r.jurisdiction})`).join(' · ')}\n\nEach region's own dashboard (\`<platform>-<env>-<region>\`) has its alarms and the detail.`,
            width: 24,
            height: 2,
          }),
        ],
        [
          graph('Route 53 health checks (1 = healthy)', [allHealthChecks()], {
            leftYAxis: { min: 0, max: 1 },
          }),
          graph(
            'Failover executions started',
            regions.map((r) =>
              stateMachineMetric(
                r.region,
                r.failoverStateMachineArn,
                'ExecutionsStarted',
                r.region,
              ),
            ),
          ),
        ],
        [
          graph(
            'Aurora global lag (ms), secondaries',
            regions.flatMap((r) =>
              r.auroraSecondaryCluster ? [auroraGlobalLag(r.region, r.auroraSecondaryCluster)] : [],
            ),
          ),
          graph(
            'Global Datastore lag (s)',
            regions.map((r) => datastoreLag(r.region, r.cacheReplicationGroupId)),
          ),
        ],
        [
          graph(
            'Sync success % per writer (objective 99.9)',
            writers.map((r) => syncSuccessRate(r.region, Duration.hours(1))),
            {
              leftYAxis: { min: 99, max: 100 },
              leftAnnotations: [{ value: 99.9, label: 'SLO 99.9%', color: '#d62728' }],
            },
          ),
          graph(
            'Sync dead letters and throughput',
            writers.map((r) =>
              queueDepth(r.region, r.syncDeadLetterQueue as string, `${r.region} dead letters`),
            ),
            { right: writers.map((r) => syncMetric(r.region, 'sync-apply', 'RecordsApplied')) },
          ),
        ],
      ],
    });
  }
}
