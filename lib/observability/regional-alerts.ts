import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge, inAllPacks, PACKS } from '../compliance/nag';

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

export interface ChatDelivery {
  readonly slackWorkspaceId: string;
  readonly slackChannelId: string;
  readonly severities: readonly Severity[];
}

export interface RegionalAlertsProps {
  /** The regional key; topics are encrypted with it. */
  readonly key: kms.IKey;
  /** `<platform>-<env>-<region>`: topics are `<prefix>-alerts-<severity>`. */
  readonly prefix: string;
  /**
   * Deliver these severities to a Slack channel through AWS Chatbot.
   * @default - no chat delivery (subscribe to the topics directly)
   */
  readonly chat?: ChatDelivery;
}

/**
 * One SNS topic per severity in each region, encrypted and TLS-only. Every Meridian alarm is
 * routed through `route()`, so each has an alarm and an OK action on its severity's topic.
 */
export class RegionalAlerts extends Construct {
  readonly topics: Readonly<Record<Severity, sns.Topic>>;
  readonly chat?: chatbot.SlackChannelConfiguration;

  constructor(scope: Construct, id: string, props: RegionalAlertsProps) {
    super(scope, id);
    const topic = (severity: Severity) =>
      new sns.Topic(this, severity, {
        topicName: `${props.prefix}-alerts-${severity}`,
        displayName: `Meridian ${severity} alerts`,
        masterKey: props.key,
        enforceSSL: true,
      });
    this.topics = { critical: topic('critical'), warning: topic('warning'), info: topic('info') };
    if (props.chat) {
      // Chatbot may only read alarms and metrics in the channel (guardrail and role alike).
      const statement = new iam.PolicyStatement({
        actions: ['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'],
        resources: ['*'],
      });
      const guardrail = new iam.ManagedPolicy(this, 'ChatGuardrail', {
        description: 'Meridian chat: read alarms and metrics, nothing else',
        statements: [statement],
      });
      const role = new iam.Role(this, 'ChatRole', {
        assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
        description: 'AWS Chatbot: posts Meridian alarms to Slack; reads alarms and metrics only',
        inlinePolicies: { read: new iam.PolicyDocument({ statements: [statement] }) },
      });
      this.chat = new chatbot.SlackChannelConfiguration(this, 'Chat', {
        slackChannelConfigurationName: `${props.prefix}-alerts`,
        slackWorkspaceId: props.chat.slackWorkspaceId,
        slackChannelId: props.chat.slackChannelId,
        notificationTopics: props.chat.severities.map((s) => this.topics[s]),
        guardrailPolicies: [guardrail],
        role,
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
      const why =
        'cloudwatch:DescribeAlarms and GetMetricData have no resource-level permissions; the chat channel only shows alarms and graphs.';
      const iam5 = { pack: PACKS.aws, rule: 'AwsSolutions-IAM5[Resource::*]', reason: why };
      acknowledge(guardrail, [iam5]);
      acknowledge(role, [
        iam5,
        ...inAllPacks('IAMNoInlinePolicy', `Chatbot's read-only role: ${why}`),
      ]);
    }
  }

  /** Sends the alarm's ALARM and OK transitions to its severity's topic. */
  route(alarm: cloudwatch.Alarm, severity: Severity): cloudwatch.Alarm {
    const action = new actions.SnsAction(this.topics[severity]);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);
    return alarm;
  }
}
