import { Aws, Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { type Fingerprint, hashOf } from '../../lambda/shared/drift';
import type { MeridianConfig } from '../config/load';
import type { RegionConfig } from '../config/schema';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import type { RegionalAlerts } from './regional-alerts';

/** `/<platform>/<env>/fingerprint`: where every region publishes what was deployed there. */
export const fingerprintParameter = (config: MeridianConfig) =>
  `/${config.global.platform}/${config.env}/fingerprint`;

/** What a region's deployment is made of, as hashes that must agree across regions or cells. */
export function fingerprintOf(
  config: MeridianConfig,
  region: RegionConfig,
  version: string,
): Fingerprint {
  return {
    region: region.id,
    jurisdiction: region.jurisdiction,
    plan: hashOf(config.plan),
    routing: hashOf({ dns: config.global.dns, routing: config.global.routing }),
    failover: hashOf(region.settings.failover),
    settings: hashOf(region.settings),
    version,
  };
}

export interface ConfigDriftProps {
  readonly config: MeridianConfig;
  readonly region: RegionConfig;
  /** Meridian's version (package.json). */
  readonly version: string;
  readonly functions: FunctionDefaults;
  readonly alerts: RegionalAlerts;
}

/**
 * The region's fingerprint parameter, and an hourly check that reads every region's and alarms
 * (critical) when the residency plan, the routing contract or a cell's failover settings differ.
 */
export class ConfigDrift extends Construct {
  readonly parameter: ssm.StringParameter;
  readonly check: MeridianFunction;
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: ConfigDriftProps) {
    super(scope, id);
    const { config, region } = props;
    const name = fingerprintParameter(config);
    const account = region.account ?? config.global.account;
    this.parameter = new ssm.StringParameter(this, 'Fingerprint', {
      parameterName: name,
      description: 'What Meridian deployed in this region (hashes); read by the config-drift check',
      stringValue: JSON.stringify(fingerprintOf(config, region, props.version)),
    });
    this.check = new MeridianFunction(this, 'Check', {
      handler: 'config-drift',
      description: 'Config drift: compares every region’s deployed fingerprint',
      ...props.functions,
      timeoutSeconds: 60,
      environment: {
        MERIDIAN_REGION: region.id,
        MERIDIAN_FINGERPRINT_PARAMETER: name,
        MERIDIAN_REGIONS: config.regions.map((r) => r.id).join(','),
      },
      requiredEnvironment: [
        'MERIDIAN_REGION',
        'MERIDIAN_FINGERPRINT_PARAMETER',
        'MERIDIAN_REGIONS',
      ],
    });
    this.check.allow(
      'ReadFingerprints',
      ['ssm:GetParameter'],
      config.regions.map(
        (r) => `arn:${Aws.PARTITION}:ssm:${r.id}:${r.account ?? account}:parameter${name}`,
      ),
    );
    new events.Rule(this, 'Schedule', {
      description: 'Hourly config-drift check',
      schedule: events.Schedule.rate(Duration.hours(1)),
      targets: [new targets.LambdaFunction(this.check.function, { retryAttempts: 2 })],
    });
    this.alarm = props.alerts.route(
      new cloudwatch.Alarm(this, 'Drift', {
        alarmName: `${config.global.platform}-${config.env}-${region.id}-config-drift`,
        alarmDescription:
          'Regions disagree on the residency plan, the routing contract or a cell’s failover settings: redeploy the lagging region',
        metric: new cloudwatch.Metric({
          namespace: 'Meridian/Operations',
          metricName: 'ConfigDrift',
          dimensionsMap: { service: 'config-drift', Region: region.id },
          statistic: 'Maximum',
          period: Duration.hours(1),
        }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      'critical',
    );
  }
}
