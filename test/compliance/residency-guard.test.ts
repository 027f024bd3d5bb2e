import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { buildMeridian } from '../../lib/app';
import { checkTemplate } from '../../lib/compliance/residency-guard';
import { Naming } from '../../lib/naming';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const index = new ResidencyIndex(config.plan);
const naming = new Naming('meridian', 'prod');
const built = buildApp(config);
const templateOf = (region: string) => structuredClone(built.template(region).toJSON());

const extraRule = (to: string, purpose: string, prefix: string) => ({
  Id: `extra-${to}`,
  Priority: 999,
  Status: 'Enabled',
  Filter: { Prefix: prefix },
  Destination: { Bucket: `arn:aws:s3:::meridian-prod-${to}-${purpose}-111111111111` },
});

function withExtraRule(region: string, purpose: string, rule: object) {
  const t = templateOf(region);
  const bucket = Object.values(
    t.Resources as Record<string, { Properties: Record<string, unknown> }>,
  ).find((r) => r.Properties.BucketName === `meridian-prod-${region}-${purpose}-111111111111`);
  if (!bucket) throw new Error(`no ${purpose} bucket in ${region}`);
  bucket.Properties.ReplicationConfiguration ??= {
    Role: 'arn:aws:iam::111111111111:role/x',
    Rules: [],
  };
  (bucket.Properties.ReplicationConfiguration as { Rules: object[] }).Rules.push(rule);
  return t;
}

describe('residency guard', () => {
  test.each(config.regions.map((r) => r.id))(
    'the shipped %s template has only edges the plan allows',
    (region) => {
      expect(checkTemplate(index, naming, region, templateOf(region))).toEqual([]);
    },
  );

  test.each([
    [
      'pii records from the EU to the US',
      'eu-west-1',
      'data',
      extraRule('us-east-1', 'data', 'pii/'),
      'S3 data eu-west-1 → us-east-1 (prefix pii/)',
      'pii is jurisdiction-bound and European Union (GDPR) allows no masked export to us (maskedExportTo): eu-west-1 (eu) → us-east-1 (us) leaves the jurisdiction',
    ],
    [
      'India-localised internal data to Singapore',
      'ap-south-1',
      'data',
      extraRule('ap-southeast-1', 'data', 'internal/'),
      'S3 data ap-south-1 → ap-southeast-1 (prefix internal/)',
      'India (DPDP Act, RBI data localisation) localises internal data (localisedClasses): ap-south-1 (in) → ap-southeast-1 (apac) leaves the jurisdiction',
    ],
    [
      'a whole-bucket copy out of the jurisdiction',
      'us-east-1',
      'data',
      extraRule('eu-west-1', 'data', ''),
      'S3 data us-east-1 → eu-west-1 (whole bucket)',
      'consent is jurisdiction-bound: us-east-1 (us) → eu-west-1 (eu) leaves the jurisdiction',
    ],
    [
      'the UAE audit trail to the EU',
      'me-central-1',
      'audit',
      extraRule('eu-west-1', 'audit', ''),
      'S3 audit me-central-1 → eu-west-1 (whole bucket)',
      'consent is jurisdiction-bound: me-central-1 (ae) → eu-west-1 (eu) leaves the jurisdiction',
    ],
    [
      'masked US projections sent to the EU under an APAC label',
      'us-east-1',
      'data',
      extraRule('eu-west-1', 'data', 'masked/apac/pii/'),
      'S3 data us-east-1 → eu-west-1 (prefix masked/apac/pii/)',
      'pii is jurisdiction-bound and United States allows no masked export to eu (maskedExportTo): us-east-1 (us) → eu-west-1 (eu) leaves the jurisdiction',
    ],
  ])('catches %s', (_name, region, purpose, rule, edge, reason) => {
    const findings = checkTemplate(index, naming, region, withExtraRule(region, purpose, rule));
    expect(findings.map((f) => f.edge)).toEqual([edge]);
    expect(findings[0]?.reason).toBe(reason);
  });

  test('catches a secret replicated out of its jurisdiction', () => {
    const t = templateOf('eu-west-1');
    const secret = Object.entries(
      t.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).find(([, r]) => r.Type === 'AWS::SecretsManager::Secret' && r.Properties.ReplicaRegions);
    const replicas = secret?.[1].Properties.ReplicaRegions as { Region: string }[];
    expect(replicas.map((r) => r.Region)).toEqual(['eu-central-1']);
    expect(checkTemplate(index, naming, 'eu-west-1', t)).toEqual([]);
    if (secret) secret[1].Properties.ReplicaRegions = [...replicas, { Region: 'us-east-1' }];
    expect(checkTemplate(index, naming, 'eu-west-1', t)).toEqual([
      {
        logicalId: secret?.[0],
        edge: 'Secrets Manager replica eu-west-1 → us-east-1',
        reason: 'a secret of eu may not be replicated to us-east-1 (us)',
      },
    ]);
  });

  test('catches a region joining another jurisdiction’s Aurora global database', () => {
    const t = templateOf('us-east-1');
    const cluster = Object.values(
      t.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).find((r) => r.Type === 'AWS::RDS::DBCluster');
    if (cluster) cluster.Properties.GlobalClusterIdentifier = 'meridian-prod-eu';
    expect(checkTemplate(index, naming, 'us-east-1', t)).toEqual([
      {
        logicalId: expect.stringMatching(/^AuroraCluster/),
        edge: 'Aurora global cluster meridian-prod-eu → us-east-1',
        reason: "the plan does not allow every class of eu-west-1's database into us-east-1",
      },
    ]);
  });

  test.each([
    [
      'an EU cache joining the US Global Datastore',
      'eu-west-1',
      'ldgnf-meridian-prod-us',
      'the plan does not allow every cached class of us-east-1 into eu-west-1',
    ],
    [
      'a datastore of an unknown region',
      'us-west-2',
      'zzzzz-meridian-prod-us',
      'zzzzz is the prefix of no Meridian region',
    ],
    [
      'the US primary’s prefix on another cell’s name',
      'us-west-2',
      'ldgnf-meridian-prod-eu',
      'the datastore is not the cell datastore of us-east-1',
    ],
  ])('catches %s', (_name, region, globalId, reason) => {
    const t = templateOf(region);
    const group = Object.values(
      t.Resources as Record<string, { Type: string; Properties: Record<string, unknown> }>,
    ).find((r) => r.Type === 'AWS::ElastiCache::ReplicationGroup');
    if (group) group.Properties.GlobalReplicationGroupId = globalId;
    expect(checkTemplate(index, naming, region, t)).toEqual([
      {
        logicalId: expect.stringMatching(/^CacheReplicationGroup/),
        edge: `Cache Global Datastore ${globalId} → ${region}`,
        reason,
      },
    ]);
  });

  test.each([
    [
      'EU pii indices followed from the US',
      'us-east-1',
      'eu-west-1',
      'pii-*',
      'pii is jurisdiction-bound and European Union (GDPR) allows no masked export to us (maskedExportTo): eu-west-1 (eu) → us-east-1 (us) leaves the jurisdiction',
    ],
    [
      'masked US pii taken in full',
      'ap-southeast-1',
      'us-east-1',
      'pii-*',
      'pii may only go masked',
    ],
    [
      'APAC pii that crosses on consent copied by a follower (it cannot ask record by record)',
      'us-east-1',
      'ap-southeast-1',
      'masked-us-pii-*',
      "pii leaves apac for us only with the subject's consent (jurisdictions.apac.transfers.us.basis: consent) and a store replicating the whole class cannot ask",
    ],
    [
      'masked projections meant for another jurisdiction',
      'eu-west-1',
      'ap-southeast-1',
      'masked-us-pii-*',
      'pii is jurisdiction-bound and Asia Pacific (Singapore PDPA) allows no masked export to eu (maskedExportTo): ap-southeast-1 (apac) → eu-west-1 (eu) leaves the jurisdiction',
    ],
    [
      'an index pattern that names no class',
      'us-east-1',
      'us-west-2',
      'logs-2026.*',
      'the pattern is not <class>-* or masked-<jurisdiction>-<class>-*',
    ],
  ])('catches %s', (_name, follower, leader, pattern, reason) => {
    const t = templateOf(follower);
    const resources = t.Resources as Record<
      string,
      { Type: string; Properties: Record<string, unknown> }
    >;
    resources.Tampered = {
      Type: 'Custom::OpenSearchReplication',
      Properties: { leader: { region: leader }, rules: [{ name: 'x', pattern }] },
    };
    expect(checkTemplate(index, naming, follower, t)).toEqual([
      {
        logicalId: 'Tampered',
        edge: `OpenSearch ${leader} → ${follower} (indices ${pattern})`,
        reason,
      },
    ]);
  });

  test('fails a real synth when a construct adds a forbidden edge behind the plan’s back', () => {
    const app = new App({ outdir: fs.mkdtempSync(path.join(os.tmpdir(), 'guard-')) });
    const stacks = buildMeridian(app, config);
    const eu = stacks.find((s) => s.region === 'eu-west-1');
    const cfn = eu?.data.buckets.data.node.defaultChild as s3.CfnBucket;
    cfn.addPropertyOverride(
      'ReplicationConfiguration.Rules.99',
      extraRule('us-east-1', 'data', 'phi/'),
    );
    const out: string[] = [];
    const spies = [console.error, console.log, console.warn].map((_, i) =>
      jest
        .spyOn(console, (['error', 'log', 'warn'] as const)[i] as 'error')
        .mockImplementation((...a) => {
          out.push(a.map(String).join(' '));
        }),
    );
    try {
      let thrown = '';
      try {
        app.synth();
      } catch (err) {
        thrown = (err as Error).message;
      }
      expect(thrown).not.toBe('');
      expect(`${thrown}\n${out.join('\n')}`).toContain(
        'S3 data eu-west-1 → us-east-1 (prefix phi/) is not allowed by the residency plan',
      );
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });
});
