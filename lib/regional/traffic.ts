import * as route53 from 'aws-cdk-lib/aws-route53';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';
import type { GlobalConfig, Settings } from '../config/schema';
import { parameterArn } from '../failover/writer-keeper';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import type { RegionalAlerts } from '../observability/regional-alerts';
import { RegionalIngress } from '../routing/regional-ingress';
import { RegionalRouting } from '../routing/regional-routing';
import type { RegionNames } from '../routing/traffic-plan';
import { type HealthTargets, healthEnvironment, routingSlots } from './derivations';

export interface RegionalTrafficProps {
  readonly region: string;
  /** The names this region serves (regional, api, jurisdiction). */
  readonly names: RegionNames;
  readonly dns: GlobalConfig['dns'];
  readonly routing: GlobalConfig['routing'];
  readonly settings: Pick<Settings, 'health' | 'failover' | 'routing' | 'observability'>;
  readonly functions: FunctionDefaults;
  /** What the health endpoint checks. */
  readonly checks: HealthTargets;
  /** Read by the health function: headed, and its queue depth read. */
  readonly dataBucket: s3.IBucket;
  readonly syncQueue: sqs.IQueue;
  readonly alerts: RegionalAlerts;
  /** Name of the critical replication-lag alarm (only a secondary has one). */
  readonly lagAlarmName: string;
}

/**
 * How users reach the region: the health endpoint's function, the HTTPS ingress with its custom
 * domains, and the Route 53 health checks and records. Builds into `scope` itself (no construct of
 * its own), so no construct path, and so no logical id, moved when it was grouped here.
 */
export class RegionalTraffic {
  /** The regional health endpoint's function. */
  readonly health: MeridianFunction;
  /** HTTPS ingress: HTTP API, custom domains, certificate. */
  readonly ingress: RegionalIngress;
  /** Route 53 health checks and records. */
  readonly routing: RegionalRouting;

  constructor(scope: Construct, props: RegionalTrafficProps) {
    const s = props.settings;
    const { replicaCluster } = props.checks;
    this.health = healthFunction(scope, props);
    const zone = route53.HostedZone.fromHostedZoneAttributes(scope, 'Zone', {
      hostedZoneId: props.dns.hostedZoneId,
      zoneName: props.dns.zoneName,
    });
    const { names, routing } = props;
    this.ingress = new RegionalIngress(scope, 'Ingress', {
      hostnames: [names.regional, names.api, names.jurisdiction],
      zone,
      healthFunction: this.health.function,
      healthPath: routing.healthPath,
      key: props.functions.key,
      logRetentionDays: s.observability.logRetentionDays,
    });
    this.routing = new RegionalRouting(scope, 'Routing', {
      zone,
      region: props.region,
      names,
      healthHost: this.ingress.executeApiHost,
      healthPath: routing.healthPath,
      intervalSeconds: s.failover.healthCheckIntervalSeconds,
      failureThreshold: s.failover.failureThreshold,
      checkerRegions: routing.healthCheckRegions,
      replicaCluster,
      maxReplicationLagSeconds: s.health.maxReplicationLagSeconds,
      slots: routingSlots(s.routing.slots, this.ingress.regionalDomainOf(names.regional)),
      ttlSeconds: routing.ttlSeconds,
      alerts: props.alerts,
      lagAlarmName: props.lagAlarmName,
    });
  }
}

/**
 * The health endpoint's function: checks Aurora (writer on a primary, reader everywhere, lag on
 * a secondary), the cache, the data bucket and the sync queue depth, each with a deadline.
 */
function healthFunction(scope: Construct, props: RegionalTrafficProps): MeridianFunction {
  const { replicaCluster } = props.checks;
  const fn = new MeridianFunction(scope, 'Health', {
    ...props.functions,
    handler: 'health',
    description: 'Regional health endpoint: Aurora, replication lag, cache, bucket, sync queue',
    // Route 53 waits 2 s for an answer; each check has its own shorter deadline.
    timeoutSeconds: 5,
    environment: healthEnvironment(props.settings.health, props.checks),
    requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_BUCKET', 'MERIDIAN_SYNC_QUEUE_URL'],
  });
  fn.allow('HeadDataBucket', ['s3:ListBucket'], [props.dataBucket.bucketArn]);
  fn.allow('SyncQueueDepth', ['sqs:GetQueueAttributes'], [props.syncQueue.queueArn]);
  const aurora = props.checks.aurora;
  if (aurora)
    fn.allow('ReadWriterSign', ['ssm:GetParameter'], [parameterArn(aurora.fenceParameter)]);
  if (replicaCluster) {
    fn.allow('ReplicationLagMetric', ['cloudwatch:GetMetricData'], ['*']);
    acknowledge(fn.role, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'cloudwatch:GetMetricData supports no resource-level permissions; the function only reads the replication-lag metric.',
      },
    ]);
  }
  return fn;
}
