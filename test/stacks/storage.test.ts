import { Match } from 'aws-cdk-lib/assertions';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { auditRoutes, objectRoutes } from '../../lib/storage/replication-routes';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const index = new ResidencyIndex(config.plan);
const built = buildApp(config);
const account = '111111111111';
const name = (r: string, purpose: string) => `meridian-prod-${r}-${purpose}-${account}`;

type Rule = {
  Id: string;
  Priority: number;
  Filter?: { Prefix?: string };
  DeleteMarkerReplication?: { Status: string };
  Destination: {
    Bucket: unknown;
    EncryptionConfiguration: { ReplicaKmsKeyID: string };
    ReplicationTime?: { Status: string; Time: { Minutes: number } };
    Metrics?: { Status: string };
  };
};

function bucket(region: string, purpose: string) {
  const t = built.template(region);
  const found = Object.values(
    t.findResources('AWS::S3::Bucket', { Properties: { BucketName: name(region, purpose) } }),
  );
  expect(found).toHaveLength(1);
  return found[0] as {
    Properties: Record<string, unknown> & { ReplicationConfiguration?: { Rules: Rule[] } };
    DeletionPolicy?: string;
  };
}
/** Destination region of a rule, read from its destination bucket ARN. */
const destinationOf = (rule: Rule) =>
  /meridian-prod-([a-z]+-[a-z]+-\d)-/.exec(JSON.stringify(rule.Destination.Bucket))?.[1];

describe.each(config.regions.map((r) => [r.id, r] as const))('S3 in %s', (id, region) => {
  test.each(['data', 'audit', 'access-logs'])(
    '%s bucket: versioned, private, retained, TLS-only',
    (purpose) => {
      const b = bucket(id, purpose);
      expect(b.Properties).toMatchObject({
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
      });
      expect(b.DeletionPolicy).toBe('Retain');
      built.template(id).hasResourceProperties('AWS::S3::BucketPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ]),
        },
      });
    },
  );

  test.each(['data', 'audit'])(
    '%s bucket: SSE-KMS with the regional key, server access logs',
    (purpose) => {
      const b = bucket(id, purpose);
      expect(b.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          {
            BucketKeyEnabled: true,
            ServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: { 'Fn::GetAtt': [expect.stringMatching(/^RegionalKey/), 'Arn'] },
            },
          },
        ],
      });
      expect(b.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: { Ref: expect.stringMatching(/^BucketsAccessLogs/) },
        LogFilePrefix: `${purpose}/`,
      });
    },
  );

  test('data lifecycle: IA after 30 days, Glacier after 90, non-current versions expire after 365; access exports expire after 30', () => {
    expect(bucket(id, 'data').Properties.LifecycleConfiguration).toEqual({
      Rules: [
        expect.objectContaining({
          Status: 'Enabled',
          Transitions: [
            { StorageClass: 'STANDARD_IA', TransitionInDays: 30 },
            { StorageClass: 'GLACIER', TransitionInDays: 90 },
          ],
          NoncurrentVersionExpiration: { NoncurrentDays: 365 },
        }),
        expect.objectContaining({
          Id: 'dsr-exports',
          Prefix: 'dsr-exports/',
          ExpirationInDays: 30,
          Status: 'Enabled',
        }),
      ],
    });
  });

  test('audit bucket: Object Lock in compliance mode for 7 years', () => {
    expect(bucket(id, 'audit').Properties.ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2557 } },
    });
  });

  test('data replication rules are exactly the routes of the residency plan', () => {
    const rules = bucket(id, 'data').Properties.ReplicationConfiguration?.Rules ?? [];
    const actual = rules.map((r) => [destinationOf(r), r.Filter?.Prefix || undefined]);
    const expected = objectRoutes(index, id).map((r) => [r.to, r.prefix]);
    expect(actual).toEqual(expected);
    for (const [to, prefix] of actual) {
      if (prefix === undefined) {
        // Whole bucket: every class may go in full.
        for (const c of config.plan.dataClasses)
          expect(index.decide(c.id, id, to as string)).toMatchObject({
            allowed: true,
            mode: 'full',
          });
      } else {
        const cls = prefix.replace(/^masked\/[^/]+\//, '').replace(/\/$/, '');
        const d = index.decide(cls, id, to as string);
        expect(d).toMatchObject({
          allowed: true,
          mode: prefix.startsWith('masked/') ? 'masked' : 'full',
        });
      }
    }
  });

  test('every replica is re-encrypted with the destination region’s key, with RTC 15 min and metrics', () => {
    for (const purpose of ['data', 'audit']) {
      const rules = bucket(id, purpose).Properties.ReplicationConfiguration?.Rules ?? [];
      expect(new Set(rules.map((r) => r.Priority)).size).toBe(rules.length);
      for (const r of rules) {
        expect(r.Destination.EncryptionConfiguration.ReplicaKmsKeyID).toBe(
          `arn:aws:kms:${destinationOf(r)}:${account}:alias/meridian-prod`,
        );
        expect(r.Destination.ReplicationTime).toEqual({ Status: 'Enabled', Time: { Minutes: 15 } });
        expect(r.Destination.Metrics).toMatchObject({ Status: 'Enabled' });
        expect(r.DeleteMarkerReplication?.Status).toBe(purpose === 'data' ? 'Enabled' : 'Disabled');
      }
    }
  });

  test('the audit bucket replicates only inside its jurisdiction', () => {
    const rules = bucket(id, 'audit').Properties.ReplicationConfiguration?.Rules ?? [];
    const targets = rules.map(destinationOf);
    expect(targets).toEqual(auditRoutes(index, id));
    for (const t of targets)
      expect(config.regions.find((r) => r.id === t)?.jurisdiction).toBe(region.jurisdiction);
  });

  test('the replication role writes only to the destinations the plan allows', () => {
    const policies = Object.values(built.template(id).findResources('AWS::IAM::ManagedPolicy'));
    const writes = policies
      .flatMap(
        (p) =>
          p.Properties.PolicyDocument.Statement as {
            Action: string | string[];
            Resource: string | string[];
          }[],
      )
      .filter((s) => [s.Action].flat().includes('s3:ReplicateObject'))
      .flatMap((s) => [s.Resource].flat());
    const dataTargets = [...new Set(objectRoutes(index, id).map((r) => r.to))];
    expect(writes.sort()).toEqual(
      [
        ...dataTargets.map((t) => `arn:aws:s3:::${name(t, 'data')}/*`),
        ...auditRoutes(index, id).map((t) => `arn:aws:s3:::${name(t, 'audit')}/*`),
      ].sort(),
    );
  });
});
