import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as route53 from 'aws-cdk-lib/aws-route53';
import { Construct } from 'constructs';
import { HEALTHY_MARKER } from '../../lambda/health/report';
import type { RegionalAlerts } from '../observability/regional-alerts';
import type { RegionNames } from './traffic-plan';

export interface DeploymentSlot {
  readonly name: string;
  readonly weight: number;
  /** Host name the slot's weighted record points to. */
  readonly target: string;
}

export interface RegionalRoutingProps {
  readonly zone: route53.IHostedZone;
  readonly region: string;
  readonly names: RegionNames;
  /** Host the endpoint health check probes (the ingress's own execute-api host). */
  readonly healthHost: string;
  readonly healthPath: string;
  readonly intervalSeconds: 10 | 30;
  readonly failureThreshold: number;
  /** Route 53 checker regions (at least 3). */
  readonly checkerRegions: readonly string[];
  /**
   * Aurora cluster whose global replication lag also makes the region unhealthy.
   * @default - no lag check (the region has no Aurora secondary)
   */
  readonly replicaCluster?: string;
  /** @default 60 */
  readonly maxReplicationLagSeconds?: number;
  readonly slots: readonly DeploymentSlot[];
  readonly ttlSeconds: number;
  /** Where the lag alarm is sent (critical: it takes the region out of routing). */
  readonly alerts: RegionalAlerts;
  /**
   * Name of the lag alarm; `<prefix>-<region>-critical-…` makes it one of the critical alarms the
   * failover runbook counts as a failure signal.
   * @default - generated
   */
  readonly lagAlarmName?: string;
}

/**
 * The region in Route 53: an HTTPS string-match health check on its health endpoint, a
 * CloudWatch-alarm check on Aurora replication lag, and the calculated check of both that every
 * record carries. Records: latency records on the shared api name and on the jurisdiction's name
 * (set identifier = region), and weighted records over deployment slots on the regional name.
 */
export class RegionalRouting extends Construct {
  readonly endpointCheck: route53.HealthCheck;
  readonly lagAlarm?: cloudwatch.Alarm;
  readonly lagCheck?: route53.HealthCheck;
  /** What records carry: healthy only when every child check is. */
  readonly regionCheck: route53.HealthCheck;
  readonly records: route53.CnameRecord[] = [];

  constructor(scope: Construct, id: string, props: RegionalRoutingProps) {
    super(scope, id);
    if (props.checkerRegions.length < 3)
      throw new Error(
        `RegionalRouting: checkerRegions needs at least 3 regions; got ${props.checkerRegions.length}`,
      );
    this.endpointCheck = new route53.HealthCheck(this, 'Endpoint', {
      type: route53.HealthCheckType.HTTPS_STR_MATCH,
      fqdn: props.healthHost,
      port: 443,
      resourcePath: props.healthPath,
      enableSNI: true,
      searchString: HEALTHY_MARKER,
      requestInterval: Duration.seconds(props.intervalSeconds),
      failureThreshold: props.failureThreshold,
      regions: [...props.checkerRegions],
      measureLatency: true,
    });
    const children: route53.IHealthCheck[] = [this.endpointCheck];
    if (props.replicaCluster) {
      const maxLag = props.maxReplicationLagSeconds ?? 60;
      this.lagAlarm = new cloudwatch.Alarm(this, 'ReplicationLag', {
        ...(props.lagAlarmName ? { alarmName: props.lagAlarmName } : {}),
        alarmDescription: `Aurora global replication lag into ${props.region} above ${maxLag} s: the region stops receiving traffic`,
        metric: new cloudwatch.Metric({
          namespace: 'AWS/RDS',
          metricName: 'AuroraGlobalDBReplicationLag',
          dimensionsMap: { DBClusterIdentifier: props.replicaCluster },
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        threshold: maxLag * 1000,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      props.alerts.route(this.lagAlarm, 'critical');
      this.lagCheck = new route53.HealthCheck(this, 'Lag', {
        type: route53.HealthCheckType.CLOUDWATCH_METRIC,
        alarmIdentifier: { region: props.region, name: this.lagAlarm.alarmName },
        insufficientDataHealthStatus: route53.InsufficientDataHealthStatusEnum.LAST_KNOWN_STATUS,
      });
      children.push(this.lagCheck);
    }
    this.regionCheck = new route53.HealthCheck(this, 'Region', {
      type: route53.HealthCheckType.CALCULATED,
      childHealthChecks: children,
      healthThreshold: children.length,
    });

    const ttl = Duration.seconds(props.ttlSeconds);
    const record = (rid: string, name: string, target: string, extra: object) => {
      const r = new route53.CnameRecord(this, rid, {
        zone: props.zone,
        recordName: `${name}.`,
        domainName: target,
        ttl,
        healthCheck: this.regionCheck,
        ...extra,
      });
      this.records.push(r);
      return r;
    };
    const latency = { region: props.region, setIdentifier: props.region };
    record('Api', props.names.api, props.names.regional, latency);
    record('Jurisdiction', props.names.jurisdiction, props.names.regional, latency);
    for (const slot of props.slots) {
      record(`Slot-${slot.name}`, props.names.regional, slot.target, {
        weight: slot.weight,
        setIdentifier: `${props.region}-${slot.name}`,
      });
    }
  }
}
