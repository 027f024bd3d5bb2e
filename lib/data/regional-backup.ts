import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as backup from 'aws-cdk-lib/aws-backup';
import * as events from 'aws-cdk-lib/aws-events';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';

export interface RegionalBackupProps {
  readonly key: kms.IKey;
  /** Daily recovery points are kept this long. */
  readonly retentionDays: number;
}

/**
 * The region's AWS Backup vault (regional key, retained) and plan: daily recovery points kept for
 * the configured retention, weekly ones for a year. Stores add themselves with `add()`.
 * Recovery points stay in the region: no copy actions, so backups never leave the jurisdiction.
 */
export class RegionalBackup extends Construct {
  readonly vault: backup.BackupVault;
  readonly plan: backup.BackupPlan;

  constructor(scope: Construct, id: string, props: RegionalBackupProps) {
    super(scope, id);
    this.vault = new backup.BackupVault(this, 'Vault', {
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.plan = new backup.BackupPlan(this, 'Plan', {
      backupVault: this.vault,
      backupPlanRules: [
        new backup.BackupPlanRule({
          ruleName: 'daily',
          scheduleExpression: events.Schedule.cron({ hour: '3', minute: '0' }),
          deleteAfter: Duration.days(props.retentionDays),
        }),
        new backup.BackupPlanRule({
          ruleName: 'weekly',
          scheduleExpression: events.Schedule.cron({ weekDay: 'SUN', hour: '4', minute: '0' }),
          deleteAfter: Duration.days(365),
        }),
      ],
    });
  }

  /** Adds resources to the plan (one selection per call). */
  add(id: string, resources: backup.BackupResource[]): backup.BackupSelection {
    const selection = this.plan.addSelection(id, { resources, allowRestores: true });
    acknowledge(selection, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
        reason:
          'AWS-maintained policy AWS Backup needs to create recovery points of the selected resources; the role is used by AWS Backup only.',
      },
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores]',
        reason:
          'AWS-maintained policy AWS Backup needs to restore the selected resources; the role is used by AWS Backup only.',
      },
    ]);
    return selection;
  }
}
