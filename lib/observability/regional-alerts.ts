import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface RegionalAlertsProps {
  /** The regional key; topics are encrypted with it. */
  readonly key: kms.IKey;
}

/**
 * One SNS topic per severity in each region, encrypted and TLS-only. Every Meridian alarm is
 * routed through `route()`, so each has an alarm and an OK action on its severity's topic.
 */
export class RegionalAlerts extends Construct {
  readonly topics: Readonly<Record<Severity, sns.Topic>>;

  constructor(scope: Construct, id: string, props: RegionalAlertsProps) {
    super(scope, id);
    const topic = (severity: Severity) =>
      new sns.Topic(this, severity, {
        displayName: `Meridian ${severity} alerts`,
        masterKey: props.key,
        enforceSSL: true,
      });
    this.topics = { critical: topic('critical'), warning: topic('warning'), info: topic('info') };
  }

  /** Sends the alarm's ALARM and OK transitions to its severity's topic. */
  route(alarm: cloudwatch.Alarm, severity: Severity): cloudwatch.Alarm {
    const action = new actions.SnsAction(this.topics[severity]);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }
}
