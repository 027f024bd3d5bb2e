/**
 * Backup and retention (automated backups, AWS Backup rules, bucket versioning and lifecycle,
 * point-in-time recovery), and the audit trail's Object Lock.
 */
import type { StackArtifact } from '../assembly';
import type { Section } from '../section';
import { byType, props } from '../template';

export type BackupFact = { readonly region: string } & (
  | {
      readonly store: 'aurora';
      readonly resource: string;
      readonly retentionDays: number;
      readonly deletionProtection: boolean;
    }
  | { readonly store: 'cache'; readonly resource: string; readonly snapshotDays: number }
  | {
      readonly store: 'backup-rule';
      readonly rule: string;
      readonly schedule: string;
      /** Absent: kept until deleted. */
      readonly keepDays?: number;
      /** Vaults (in other regions) each recovery point is copied to. */
      readonly copies: number;
    }
  | {
      readonly store: 'bucket';
      readonly bucket: string;
      readonly versioning: boolean;
      readonly lifecycle: readonly LifecycleRule[];
    }
  | { readonly store: 'dynamodb'; readonly resource: string; readonly pointInTimeRecovery: boolean }
);

export interface LifecycleRule {
  /** The key prefix the rule is limited to; absent: the whole bucket. */
  readonly prefix?: string;
  readonly transitions: readonly { readonly storageClass: string; readonly days: number }[];
  readonly expireDays?: number;
  readonly oldVersionsExpireDays?: number;
}

/** An Object Lock bucket: its default retention, absent when it has none. */
export interface AuditLock {
  readonly region: string;
  readonly bucket: string;
  readonly retention?: { readonly mode: string; readonly days?: number; readonly years?: number };
}

export function backupsOf(s: StackArtifact): { backups: BackupFact[]; locks: AuditLock[] } {
  const t = s.template;
  const region = s.region;
  const backups: BackupFact[] = [];
  const locks: AuditLock[] = [];
  for (const [id, r] of byType(t, 'AWS::RDS::DBCluster')) {
    const p = props(r);
    backups.push({
      region,
      store: 'aurora',
      resource: id,
      retentionDays: Number(p.BackupRetentionPeriod ?? 1),
      deletionProtection: p.DeletionProtection === true,
    });
  }
  for (const [id, r] of byType(t, 'AWS::ElastiCache::ReplicationGroup'))
    backups.push({
      region,
      store: 'cache',
      resource: id,
      snapshotDays: Number(props(r).SnapshotRetentionLimit ?? 0),
    });
  for (const [, r] of byType(t, 'AWS::Backup::BackupPlan')) {
    const plan = props(r).BackupPlan as
      | {
          BackupPlanRule?: {
            RuleName?: string;
            ScheduleExpression?: string;
            Lifecycle?: { DeleteAfterDays?: number };
            CopyActions?: unknown[];
          }[];
        }
      | undefined;
    for (const rule of plan?.BackupPlanRule ?? [])
      backups.push({
        region,
        store: 'backup-rule',
        rule: String(rule.RuleName),
        schedule: String(rule.ScheduleExpression),
        ...(rule.Lifecycle?.DeleteAfterDays ? { keepDays: rule.Lifecycle.DeleteAfterDays } : {}),
        copies: rule.CopyActions?.length ?? 0,
      });
  }
  for (const [id, r] of byType(t, 'AWS::S3::Bucket')) {
    const p = props(r);
    const bucket = String(p.BucketName ?? id);
    const rules = ((p.LifecycleConfiguration as { Rules?: unknown[] } | undefined)?.Rules ??
      []) as {
      Prefix?: string;
      ExpirationInDays?: number;
      NoncurrentVersionExpiration?: { NoncurrentDays?: number };
      Transitions?: { StorageClass?: string; TransitionInDays?: number }[];
    }[];
    backups.push({
      region,
      store: 'bucket',
      bucket,
      versioning:
        (p.VersioningConfiguration as { Status?: string } | undefined)?.Status === 'Enabled',
      lifecycle: rules.map((x) => ({
        ...(x.Prefix ? { prefix: x.Prefix } : {}),
        transitions: (x.Transitions ?? []).map((tr) => ({
          storageClass: String(tr.StorageClass),
          days: Number(tr.TransitionInDays),
        })),
        ...(x.ExpirationInDays ? { expireDays: x.ExpirationInDays } : {}),
        ...(x.NoncurrentVersionExpiration?.NoncurrentDays
          ? { oldVersionsExpireDays: x.NoncurrentVersionExpiration.NoncurrentDays }
          : {}),
      })),
    });
    if (p.ObjectLockEnabled === true) {
      const rule = (
        p.ObjectLockConfiguration as
          | { Rule?: { DefaultRetention?: { Mode?: string; Days?: number; Years?: number } } }
          | undefined
      )?.Rule?.DefaultRetention;
      locks.push({
        region,
        bucket,
        ...(rule
          ? {
              retention: {
                mode: String(rule.Mode),
                ...(rule.Days ? { days: rule.Days } : {}),
                ...(rule.Years ? { years: rule.Years } : {}),
              },
            }
          : {}),
      });
    }
  }
  for (const [id, r] of byType(t, 'AWS::DynamoDB::GlobalTable')) {
    const pitr = ((props(r).Replicas as
      | { PointInTimeRecoverySpecification?: { PointInTimeRecoveryEnabled?: boolean } }[]
      | undefined) ?? [])[0]?.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled;
    backups.push({ region, store: 'dynamodb', resource: id, pointInTimeRecovery: pitr === true });
  }
  return { backups, locks };
}

// Wording.

/** What the backup line is about: `Aurora <id>`, `AWS Backup rule <name>`, `S3 <bucket>`… */
export function backupStoreText(b: BackupFact): string {
  switch (b.store) {
    case 'aurora':
      return `Aurora ${b.resource}`;
    case 'cache':
      return `ElastiCache ${b.resource}`;
    case 'backup-rule':
      return `AWS Backup rule ${b.rule}`;
    case 'bucket':
      return `S3 ${b.bucket}`;
    case 'dynamodb':
      return `DynamoDB ${b.resource}`;
  }
}

function policyText(b: BackupFact): string {
  switch (b.store) {
    case 'aurora':
      return `automated backups ${b.retentionDays} d; deletion protection ${b.deletionProtection ? 'on' : 'OFF'}`;
    case 'cache':
      return `snapshots kept ${b.snapshotDays} d`;
    case 'backup-rule':
      return `${b.schedule}, kept ${b.keepDays ?? '∞'} d${b.copies ? `; copies to ${b.copies} vault(s)` : '; no cross-region copy'}`;
    case 'bucket': {
      const parts = b.lifecycle.flatMap((x) => {
        const said = [
          ...x.transitions.map((tr) => `to ${tr.storageClass} after ${tr.days} d`),
          ...(x.expireDays ? [`expires after ${x.expireDays} d`] : []),
          ...(x.oldVersionsExpireDays
            ? [`old versions expire after ${x.oldVersionsExpireDays} d`]
            : []),
        ];
        // A rule limited to a prefix says so, or it would read as the whole bucket's.
        return x.prefix && said.length > 0 ? [`${x.prefix}: ${said.join(', ')}`] : said;
      });
      return `versioning ${b.versioning ? 'on' : 'OFF'}${parts.length ? `; ${parts.join(', ')}` : ''}`;
    }
    case 'dynamodb':
      return `point-in-time recovery ${b.pointInTimeRecovery ? 'on (35 d)' : 'OFF'}`;
  }
}

export function backupSection(backups: readonly BackupFact[]): Section {
  return {
    id: 'backup',
    title: 'Backup and retention',
    intro:
      'Automated backups, AWS Backup rules, bucket versioning and lifecycle, point-in-time recovery.',
    table: {
      columns: ['Region', 'Store', 'Policy'],
      rows: backups.map((b) => [b.region, backupStoreText(b), policyText(b)]),
    },
  };
}

export function auditSection(locks: readonly AuditLock[]): Section {
  return {
    id: 'audit',
    title: 'Audit trail (Object Lock)',
    intro: 'Buckets whose objects cannot be changed or deleted before their retention ends.',
    table: {
      columns: ['Region', 'Bucket', 'Lock'],
      rows: locks.map((l) => [
        l.region,
        `S3 ${l.bucket}`,
        l.retention
          ? `Object Lock ${l.retention.mode} mode, ${l.retention.days ? `${l.retention.days} days` : `${l.retention.years} years`}`
          : 'Object Lock on, no default retention',
      ]),
    },
  };
}
