/**
 * The metrics Meridian's dashboards and alarms read, by name, so a dashboard in one region can
 * show another region's (CloudWatch dashboards take a region per metric). Resources whose metric
 * dimensions are generated (cache node ids, S3 replication rule ids, Route 53 health check ids)
 * are found with SEARCH expressions on a name CloudWatch already knows.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

const MINUTE = Duration.minutes(1);
const FIVE = Duration.minutes(5);

/** The sync functions' Powertools metrics (namespace Meridian/Sync, dims service + Region). */
export function syncMetric(
  region: string,
  service: 'sync-apply' | 'sync-dispatch',
  name: string,
  statistic = 'Sum',
  period: Duration = FIVE,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'Meridian/Sync',
    metricName: name,
    dimensionsMap: { service, Region: region },
    statistic,
    period,
    region,
  });
}

/**
 * Percentage of sync records that reached their target (applied or recognised as duplicates)
 * among all that were settled one way or the other: parked, rejected by residency, or applied.
 * No traffic counts as 100%.
 */
export function syncSuccessRate(region: string, period: Duration): cloudwatch.MathExpression {
  // Metric ids are unique per region, so several regions' rates can share one graph.
  const k = region.replace(/-/g, '_');
  const m = (service: 'sync-apply' | 'sync-dispatch', name: string) =>
    syncMetric(region, service, name, 'Sum', period);
  const ok = `applied_${k} + dup_${k}`;
  const all = `${ok} + parkedIn_${k} + parkedOut_${k} + rejected_${k}`;
  return new cloudwatch.MathExpression({
    label: `sync success % (${region})`,
    expression: `IF((${all}) > 0, 100 * (${ok}) / (${all}), 100)`,
    usingMetrics: {
      [`applied_${k}`]: m('sync-apply', 'RecordsApplied'),
      [`dup_${k}`]: m('sync-apply', 'Duplicates'),
      [`parkedIn_${k}`]: m('sync-apply', 'RecordsParked'),
      [`rejected_${k}`]: m('sync-apply', 'ResidencyRejected'),
      [`parkedOut_${k}`]: m('sync-dispatch', 'RecordsParked'),
    },
    period,
  });
}

export function auroraGlobalLag(region: string, clusterIdentifier: string): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/RDS',
    metricName: 'AuroraGlobalDBReplicationLag',
    dimensionsMap: { DBClusterIdentifier: clusterIdentifier },
    statistic: 'Maximum',
    period: MINUTE,
    region,
    label: `Aurora global lag ms (${region})`,
  });
}

const search = (region: string, label: string, query: string, statistic: string, seconds: number) =>
  new cloudwatch.MathExpression({
    expression: `SEARCH('${query}', '${statistic}', ${seconds})`,
    usingMetrics: {},
    searchRegion: region,
    label,
    period: Duration.seconds(seconds),
  });

/** Global Datastore lag of a replication group's nodes (found by the group id). */
export const datastoreLag = (region: string, replicationGroupId: string) =>
  search(
    region,
    `Global Datastore lag (${region})`,
    `{AWS/ElastiCache,CacheClusterId} MetricName="GlobalDatastoreReplicationLag" ${replicationGroupId}`,
    'Maximum',
    60,
  );

/** S3 replication latency and pending operations of a source bucket (every rule). */
export const s3Replication = (
  region: string,
  sourceBucket: string,
  metric: 'ReplicationLatency' | 'OperationsPendingReplication',
) =>
  search(
    region,
    `${metric} (${sourceBucket})`,
    `{AWS/S3,DestinationBucket,RuleId,SourceBucket} MetricName="${metric}" SourceBucket="${sourceBucket}"`,
    'Maximum',
    300,
  );

/** Route 53 health check status (1 healthy, 0 not); Route 53 publishes it in us-east-1 only. */
export const healthCheckStatus = (healthCheckId: string, label: string) =>
  new cloudwatch.Metric({
    namespace: 'AWS/Route53',
    metricName: 'HealthCheckStatus',
    dimensionsMap: { HealthCheckId: healthCheckId },
    statistic: 'Minimum',
    period: MINUTE,
    region: 'us-east-1',
    label,
  });

/** Every Route 53 health check of the account (global dashboard). */
export const allHealthChecks = () =>
  search(
    'us-east-1',
    'Route 53 health checks',
    '{AWS/Route53,HealthCheckId} MetricName="HealthCheckStatus"',
    'Minimum',
    60,
  );

export function stateMachineMetric(
  region: string,
  stateMachineArn: string,
  name: 'ExecutionsStarted' | 'ExecutionsSucceeded' | 'ExecutionsFailed' | 'ExecutionsTimedOut',
  label: string,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: 'AWS/States',
    metricName: name,
    dimensionsMap: { StateMachineArn: stateMachineArn },
    statistic: 'Sum',
    period: FIVE,
    region,
    label,
  });
}

export const queueDepth = (region: string, queueName: string, label: string) =>
  new cloudwatch.Metric({
    namespace: 'AWS/SQS',
    metricName: 'ApproximateNumberOfMessagesVisible',
    dimensionsMap: { QueueName: queueName },
    statistic: 'Maximum',
    period: MINUTE,
    region,
    label,
  });
