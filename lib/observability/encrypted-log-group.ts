import { RemovalPolicy } from 'aws-cdk-lib';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';

export interface EncryptedLogGroupProps {
  readonly key: kms.IKey;
  /** Retention in days; must be a CloudWatch retention period (validated in regions/). */
  readonly retentionDays: number;
}

/**
 * A log group encrypted with the regional key, with the configured retention, kept when the stack
 * is deleted (logs are audit evidence). No physical name, so regions and envs never collide.
 * The `Meridian-LogGroupEncrypted` rule (lib/compliance/meridian-checks.ts) enforces this shape on
 * every log group in the app.
 */
export function encryptedLogGroup(
  scope: Construct,
  id: string,
  props: EncryptedLogGroupProps,
): logs.LogGroup {
  const group = new logs.LogGroup(scope, id, {
    encryptionKey: props.key,
    retention: props.retentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  if (props.retentionDays < 365)
    // Shown in the compliance report with the number of days, so a reviewer sees any environment
    // that keeps logs for less than a year.
    acknowledge(group, [
      {
        pack: PACKS.guard,
        rule: 'cloudwatch_log_group_retention_period_check',
        reason: `Retention is ${props.retentionDays} days because this environment's settings.logRetentionDays says so (shorter-lived environments such as staging); production keeps logs at least a year.`,
      },
    ]);
  return group;
}
