import { Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Construct } from 'constructs';
import { EXPORT_RETENTION_DAYS, EXPORTS } from '../../lambda/shared/dsr/subject';
import { acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import type { BucketPurpose, Naming } from '../naming';
import type { ObjectRoute } from './replication-routes';

export interface RegionalBucketsProps {
  /** Physical names; also the alias of every region's customer key. */
  readonly naming: Naming;
  readonly key: kms.IKey;
  /** Data-bucket replication routes, from the residency plan. */
  readonly dataRoutes: readonly ObjectRoute[];
  /** Regions the audit bucket replicates to in full, from the residency plan. */
  readonly auditTargets: readonly string[];
  readonly transitionToIaDays: number;
  readonly transitionToGlacierDays: number;
  readonly expireNoncurrentDays: number;
  readonly auditRetentionDays: number;
  readonly replicationTimeControl: boolean;
  readonly accessLogRetentionDays: number;
}

/**
 * The region's buckets: `data` (records by class, replicated as the residency plan allows),
 * `audit` (Object Lock in compliance mode, replicated only where every class may go, so never out
 * of its jurisdiction) and `access-logs` (server access logs of both). Versioned, block public
 * access, TLS only, KMS with the regional key (access logs: SSE-S3, which log delivery requires).
 * Replicas are re-encrypted with the destination region's key, found by its alias, so no stack
 * needs another region's outputs.
 */
export class RegionalBuckets extends Construct {
  readonly data: s3.Bucket;
  readonly audit: s3.Bucket;
  readonly accessLogs: s3.Bucket;
  readonly replicationRole?: iam.Role;

  constructor(scope: Construct, id: string, props: RegionalBucketsProps) {
    super(scope, id);
    const { region, account } = Stack.of(this);
    const partition = literalPartition(region);
    const name = (r: string, purpose: BucketPurpose) => props.naming.bucket(r, purpose, account);
    const common = {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      versioned: true,
      removalPolicy: RemovalPolicy.RETAIN,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
    } as const;

    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      ...common,
      bucketName: name(region, 'access-logs'),
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
      lifecycleRules: [
        {
          expiration: Duration.days(props.accessLogRetentionDays),
          noncurrentVersionExpiration: Duration.days(30),
        },
      ],
    });
    acknowledge(this.accessLogs, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-S1',
        reason: 'This is the access-log target itself; logging it into itself would loop.',
      },
      ...inAllPacks(
        'S3BucketLoggingEnabled',
        'This is the access-log target itself; logging it into itself would loop.',
      ),
      ...inAllPacks(
        'S3DefaultEncryptionKMS',
        'S3 server access log delivery supports only SSE-S3 on the target bucket; the logs hold request metadata, not records.',
      ),
      {
        pack: PACKS.guard,
        rule: 's3_bucket_logging_enabled_check',
        reason: 'This is the access-log target itself; logging it into itself would loop.',
      },
      {
        pack: PACKS.guard,
        rule: 's3_bucket_default_encryption_kms_check',
        reason:
          'S3 server access log delivery supports only SSE-S3 on the target bucket; the logs hold request metadata, not records.',
      },
      {
        pack: PACKS.guard,
        rule: 's3_bucket_object_lock_enabled_check',
        reason:
          'Access logs expire after settings.accessLogRetentionDays; Object Lock would keep them past that. The audit trail that must not change is the Object Lock audit bucket.',
      },
      ...inAllPacks(
        'S3BucketReplicationEnabled',
        'Access logs are regional operational evidence, kept in the region with their own retention; replicating them would move request metadata out of the region for no recovery need.',
      ),
    ]);

    const routesByTarget = new Map<string, ObjectRoute[]>();
    for (const r of props.dataRoutes)
      routesByTarget.set(r.to, [...(routesByTarget.get(r.to) ?? []), r]);
    const targets = [...new Set([...routesByTarget.keys(), ...props.auditTargets])].sort();
    if (targets.length > 0) {
      this.replicationRole = new iam.Role(this, 'ReplicationRole', {
        assumedBy: new iam.ServicePrincipal('s3.amazonaws.com'),
        description: `S3 replication from ${region} to ${targets.join(', ')} (residency plan)`,
      });
    }
    const replicaKey = (r: string) =>
      `arn:${partition}:kms:${r}:${account}:alias/${props.naming.keyAlias}`;
    const imported = new Map<string, s3.IBucket>();
    const destination = (r: string, purpose: BucketPurpose): s3.IBucket => {
      const key = `${purpose}-${r}`;
      let bucket = imported.get(key);
      if (!bucket) {
        bucket = s3.Bucket.fromBucketAttributes(this, key, {
          bucketName: name(r, purpose),
          region: r,
        });
        imported.set(key, bucket);
      }
      return bucket;
    };
    const rtc = props.replicationTimeControl ? s3.ReplicationTimeValue.FIFTEEN_MINUTES : undefined;

    let priority = 0;
    const dataRules: s3.ReplicationRule[] = [...routesByTarget.entries()].flatMap(([to, routes]) =>
      routes.map((route) => ({
        id: `${to}-${route.prefix ? route.prefix.replace(/\/$/, '').replace(/\//g, '-') : 'all'}`,
        destination: destination(to, 'data'),
        priority: priority++,
        filter: route.prefix ? { prefix: route.prefix } : undefined,
        deleteMarkerReplication: true,
        replicationTimeControl: rtc,
        metrics: rtc,
        sseKmsEncryptedObjects: true,
        replicaModifications: true,
      })),
    );

    this.data = new s3.Bucket(this, 'Data', {
      ...common,
      bucketName: name(region, 'data'),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'data/',
      lifecycleRules: [
        {
          transitions: [
            {
              storageClass: s3.StorageClass.INFREQUENT_ACCESS,
              transitionAfter: Duration.days(props.transitionToIaDays),
            },
            {
              storageClass: s3.StorageClass.GLACIER,
              transitionAfter: Duration.days(props.transitionToGlacierDays),
            },
          ],
          noncurrentVersionExpiration: Duration.days(props.expireNoncurrentDays),
        },
        {
          // Data-subject access exports (lambda/shared/dsr): copies of a person's records, kept
          // only until they are handed over.
          id: 'dsr-exports',
          prefix: `${EXPORTS}/`,
          expiration: Duration.days(EXPORT_RETENTION_DAYS),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      replicationRole: dataRules.length > 0 ? this.replicationRole : undefined,
      replicationRules: dataRules.length > 0 ? dataRules : undefined,
    });

    const auditRules: s3.ReplicationRule[] = props.auditTargets.map((to, i) => ({
      id: `${to}-all`,
      destination: destination(to, 'audit'),
      priority: i,
      deleteMarkerReplication: false,
      replicationTimeControl: rtc,
      metrics: rtc,
      sseKmsEncryptedObjects: true,
    }));
    this.audit = new s3.Bucket(this, 'Audit', {
      ...common,
      bucketName: name(region, 'audit'),
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: props.key,
      bucketKeyEnabled: true,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'audit/',
      objectLockEnabled: true,
      objectLockDefaultRetention: s3.ObjectLockRetention.compliance(
        Duration.days(props.auditRetentionDays),
      ),
      // Audit records are read rarely after the first quarter: Glacier keeps them for less.
      // No expiration: Object Lock decides the minimum; deleting after it is a reviewer's call.
      lifecycleRules: [
        {
          id: 'archive',
          transitions: [
            {
              storageClass: s3.StorageClass.GLACIER_INSTANT_RETRIEVAL,
              transitionAfter: Duration.days(90),
            },
          ],
        },
      ],
      replicationRole: auditRules.length > 0 ? this.replicationRole : undefined,
      replicationRules: auditRules.length > 0 ? auditRules : undefined,
    });
    if (auditRules.length === 0) {
      acknowledgeNoReplication(
        this.audit,
        'its jurisdiction has no other region (the compliance report lists the gap)',
      );
    }
    const noEvents = (what: string) => ({
      pack: PACKS.guard,
      rule: 's3_event_notifications_enabled_check',
      reason: `Nothing consumes object events of the ${what} bucket: its writers know what they wrote, and replication is watched by its own metrics; S3 notifications would add a CDK custom-resource Lambda outside the VPC for no reader.`,
    });
    acknowledge(this.accessLogs, [noEvents('access-log')]);
    acknowledge(this.audit, [noEvents('audit')]);
    acknowledge(this.data, [
      noEvents('data'),
      {
        pack: PACKS.guard,
        rule: 's3_bucket_object_lock_enabled_check',
        reason:
          'The data bucket holds personal records that erasure requests (GDPR art. 17, DPDP, PDPA) must be able to delete; Object Lock would forbid that. Versioning, KMS and replication protect it; the immutable trail is the Object Lock audit bucket.',
      },
    ]);
    if (dataRules.length === 0) {
      acknowledgeNoReplication(
        this.data,
        'the residency plan allows no destination for any class from this region',
      );
    }

    // Replica encryption: set the destination key on every rule (alias ARN, resolved by KMS).
    const dataTargets = [...routesByTarget.entries()].flatMap(([to, routes]) =>
      routes.map(() => to),
    );
    for (const [bucket, ruleTargets] of [
      [this.data, dataTargets],
      [this.audit, props.auditTargets],
    ] as const) {
      const cfn = bucket.node.defaultChild as s3.CfnBucket;
      ruleTargets.forEach((to, i) => {
        cfn.addPropertyOverride(
          `ReplicationConfiguration.Rules.${i}.Destination.EncryptionConfiguration.ReplicaKmsKeyID`,
          replicaKey(to),
        );
      });
    }

    if (this.replicationRole) {
      this.grantReplication(this.replicationRole, props, {
        sources: [name(region, 'data'), name(region, 'audit')],
        destinations: [
          ...[...routesByTarget.keys()].sort().map((t) => name(t, 'data')),
          ...props.auditTargets.map((t) => name(t, 'audit')),
        ],
        replicaKeyArns: targets.map((t) => replicaKey(t).replace(/alias\/.*$/, 'key/*')),
        partition,
      });
    }
  }

  /**
   * The replication role's policy, built from literal bucket names (known from regions/) so the
   * role never depends on the buckets that depend on it. Writes are scoped to the destinations the
   * residency plan allows, per bucket purpose; each wildcard is acknowledged with its reason.
   */
  private grantReplication(
    role: iam.Role,
    props: RegionalBucketsProps,
    {
      sources,
      destinations,
      replicaKeyArns,
      partition,
    }: {
      sources: readonly string[];
      destinations: readonly string[];
      replicaKeyArns: readonly string[];
      partition: string;
    },
  ): void {
    const s3Arn = (bucket: string) => `arn:${partition}:s3:::${bucket}`;
    const policy = new iam.ManagedPolicy(this, 'ReplicationPolicy', {
      description:
        "Read this region's buckets; write replicas only where the residency plan allows",
      statements: [
        new iam.PolicyStatement({
          actions: ['s3:GetReplicationConfiguration', 's3:ListBucket'],
          resources: sources.map(s3Arn),
        }),
        new iam.PolicyStatement({
          actions: [
            's3:GetObjectVersionForReplication',
            's3:GetObjectVersionAcl',
            's3:GetObjectVersionTagging',
            's3:GetObjectRetention',
            's3:GetObjectLegalHold',
          ],
          resources: sources.map((b) => `${s3Arn(b)}/*`),
        }),
        new iam.PolicyStatement({
          actions: [
            's3:ReplicateObject',
            's3:ReplicateDelete',
            's3:ReplicateTags',
            's3:ObjectOwnerOverrideToBucketOwner',
          ],
          resources: destinations.map((b) => `${s3Arn(b)}/*`),
        }),
        new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.key.keyArn] }),
        new iam.PolicyStatement({
          actions: ['kms:Encrypt', 'kms:GenerateDataKey'],
          resources: [...replicaKeyArns],
          conditions: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': `alias/${props.naming.keyAlias}` },
          },
        }),
      ],
    });
    role.addManagedPolicy(policy);
    acknowledge(policy, [
      ...sources.map((b) => ({
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::${s3Arn(b)}/*]`,
        reason: `Replication reads every object version of ${b}; the replication rules decide which prefixes leave.`,
      })),
      ...destinations.map((b) => ({
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::${s3Arn(b)}/*]`,
        reason: `Replicas are written under any key of ${b}, a destination the residency plan allows from this region.`,
      })),
      ...replicaKeyArns.map((k) => ({
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::${k}]`,
        reason: `Replica encryption with the destination region's Meridian key, limited by the kms:ResourceAliases condition to alias/${props.naming.keyAlias}; its key id is not known without a cross-region reference.`,
      })),
    ]);
  }
}

/** The partition as a literal (ARNs here are also acknowledgement ids, which must be strings). */
function literalPartition(region: string): string {
  return RegionInfo.get(region).partition ?? 'aws';
}

function acknowledgeNoReplication(bucket: s3.Bucket, why: string): void {
  acknowledge(
    bucket,
    inAllPacks(
      'S3BucketReplicationEnabled',
      `No replication by design: ${why}; data must not leave.`,
    ),
  );
}
