/**
 * The residency guard on small hand-built templates over the three-region fixture (eu-west-1 and
 * eu-central-1 in eu, which may export masked pii to us; us-east-1 in us, which exports nothing):
 * every kind of edge it reads, allowed and refused, with the exact finding. About a second, not
 * the ~50 s the eight-region synth of residency-guard.test.ts takes, so Stryker can run it for
 * every mutant of lib/compliance/residency-guard.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { IPolicyValidationContext } from 'aws-cdk-lib';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { checkTemplate, ResidencyGuard } from '../../lib/compliance/residency-guard';
import { Naming } from '../../lib/naming';
import { load, MINIMAL } from '../support/fixture';

const index = new ResidencyIndex(load(MINIMAL).plan);
const naming = new Naming('meridian', 'prod');

type Resource = { Type: string; Properties?: Record<string, unknown> };
const check = (region: string, resources: Record<string, Resource>) =>
  checkTemplate(index, naming, region, { Resources: resources });
/** The findings (edge and reason) of a template holding only `resource`, as `X`. */
const findingsOf = (region: string, resource: Resource) =>
  check(region, { X: resource }).map(({ logicalId, edge, reason }) => {
    expect(logicalId).toBe('X');
    return { edge, reason };
  });

/** `resource` alone in `region`'s template: no finding when `reason` is undefined, else one on `edge`. */
const expectFinding = (
  region: string,
  resource: Resource,
  edge: string,
  reason: string | undefined,
) => expect(findingsOf(region, resource)).toEqual(reason ? [{ edge, reason }] : []);

const PHI_EU_US =
  'phi is jurisdiction-bound: eu-west-1 (eu) → us-east-1 (us) leaves the jurisdiction';
const PII_US_EU =
  'pii is jurisdiction-bound and US allows no masked export to eu (maskedExportTo): us-east-1 (us) → eu-west-1 (eu) leaves the jurisdiction';

test('a template without resources, or with resources that replicate nothing, has no findings', () => {
  expect(checkTemplate(index, naming, 'eu-west-1', {})).toEqual([]);
  expect(
    check('eu-west-1', {
      // Ids in the wrong type, or not as text, are not edges the guard can read.
      Instance: {
        Type: 'AWS::RDS::DBInstance',
        Properties: { GlobalClusterIdentifier: 'meridian-prod-xx' },
      },
      ClusterByRef: {
        Type: 'AWS::RDS::DBCluster',
        Properties: { GlobalClusterIdentifier: { Ref: 'Global' } },
      },
      Cluster: { Type: 'AWS::RDS::DBCluster' },
      GlobalGroup: {
        Type: 'AWS::ElastiCache::GlobalReplicationGroup',
        Properties: { GlobalReplicationGroupId: 'zzzzz-meridian-prod-us' },
      },
      GroupByRef: {
        Type: 'AWS::ElastiCache::ReplicationGroup',
        Properties: { GlobalReplicationGroupId: { Ref: 'Global' } },
      },
      Parameter: { Type: 'AWS::SSM::Parameter', Properties: { ReplicaRegions: ['us-east-1'] } },
      SecretByRef: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: { ReplicaRegions: { Ref: 'Regions' } },
      },
      Search: { Type: 'Custom::OpenSearchReplication', Properties: { leader: { region: 'x' } } },
      Bucket: { Type: 'AWS::S3::Bucket' },
      Queue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'meridian-prod-eu-west-1' } },
      // Properties named like a follower's or a bucket's, on resources of other types.
      Other: {
        Type: 'Custom::Other',
        Properties: {
          leader: { region: 'us-east-1' },
          rules: [{ pattern: 'phi-*' }],
          BucketName: 'meridian-prod-eu-west-1-data-111111111111',
          ReplicationConfiguration: {
            Rules: [
              { Destination: { Bucket: 'arn:aws:s3:::meridian-prod-us-east-1-data-111111111111' } },
            ],
          },
        },
      },
    }),
  ).toEqual([]);
});

describe('Aurora global cluster', () => {
  test.each([
    ['the cell primary', 'eu-west-1', 'meridian-prod-eu', undefined],
    ['a secondary of the cell', 'eu-central-1', 'meridian-prod-eu', undefined],
    [
      'a region of another jurisdiction',
      'us-east-1',
      'meridian-prod-eu',
      "the plan does not allow every class of eu-west-1's database into us-east-1",
    ],
    [
      'a cluster no cell is named',
      'eu-central-1',
      'meridian-prod-xx',
      'no jurisdiction cell is named meridian-prod-xx',
    ],
  ])('%s', (_name, region, id, reason) => {
    const cluster = { Type: 'AWS::RDS::DBCluster', Properties: { GlobalClusterIdentifier: id } };
    expectFinding(region, cluster, `Aurora global cluster ${id} → ${region}`, reason);
  });
});

describe('cache Global Datastore', () => {
  test.each([
    ['a secondary of its cell', 'eu-central-1', 'gxeiz-meridian-prod-eu', undefined],
    [
      'a region of another jurisdiction',
      'eu-west-1',
      'ldgnf-meridian-prod-us',
      'the plan does not allow every cached class of us-east-1 into eu-west-1',
    ],
    [
      'a prefix ElastiCache has never issued',
      'eu-central-1',
      'zzzzz-meridian-prod-eu',
      'zzzzz is the prefix of no Meridian region',
    ],
    [
      'the prefix of a region Meridian does not run in (us-west-2)',
      'us-east-1',
      'sgaui-meridian-prod-us',
      'sgaui is the prefix of no Meridian region',
    ],
    [
      'a primary’s prefix on another cell’s name',
      'eu-central-1',
      'ldgnf-meridian-prod-eu',
      'the datastore is not the cell datastore of us-east-1',
    ],
  ])('%s', (_name, region, id, reason) => {
    const group = {
      Type: 'AWS::ElastiCache::ReplicationGroup',
      Properties: { GlobalReplicationGroupId: id },
    };
    expectFinding(region, group, `Cache Global Datastore ${id} → ${region}`, reason);
  });
});

test('Secrets Manager: replicas inside the jurisdiction pass; each one outside is a finding', () => {
  const secret = (regions: object[]): Resource => ({
    Type: 'AWS::SecretsManager::Secret',
    Properties: { ReplicaRegions: regions },
  });
  expect(findingsOf('eu-west-1', secret([{ Region: 'eu-central-1' }]))).toEqual([]);
  expect(
    findingsOf(
      'eu-west-1',
      secret([{ Region: 'eu-central-1' }, { Region: 'us-east-1' }, { Region: 'xx-nowhere-1' }]),
    ),
  ).toEqual([
    {
      edge: 'Secrets Manager replica eu-west-1 → us-east-1',
      reason: 'a secret of eu may not be replicated to us-east-1 (us)',
    },
    {
      edge: 'Secrets Manager replica eu-west-1 → xx-nowhere-1',
      reason: 'a secret of eu may not be replicated to xx-nowhere-1 (unknown region)',
    },
  ]);
});

describe('OpenSearch follower rules', () => {
  const follow = (leader: unknown, ...patterns: string[]): Resource => ({
    Type: 'Custom::OpenSearchReplication',
    Properties: { leader, rules: patterns.map((pattern) => ({ name: 'r', pattern })) },
  });

  test.each([
    ['a class allowed in full', 'us-east-1', 'eu-west-1', 'public-*', undefined],
    ['masked projections for the follower', 'us-east-1', 'eu-west-1', 'masked-us-pii-*', undefined],
    ['inside the jurisdiction', 'eu-central-1', 'eu-west-1', 'phi-*', undefined],
    ['a masked-only class in full', 'us-east-1', 'eu-west-1', 'pii-*', 'pii may only go masked'],
    ['a class the plan denies', 'us-east-1', 'eu-west-1', 'phi-*', PHI_EU_US],
    [
      'masked projections for another jurisdiction',
      'us-east-1',
      'eu-west-1',
      'masked-eu-pii-*',
      'masked projections for eu must not go to us-east-1 (us)',
    ],
    ['masked projections the plan denies', 'eu-west-1', 'us-east-1', 'masked-eu-pii-*', PII_US_EU],
  ])('%s', (_name, follower, leader, pattern, reason) => {
    const edge = `OpenSearch ${leader} → ${follower} (indices ${pattern})`;
    expectFinding(follower, follow({ region: leader }, pattern), edge, reason);
  });

  test('a pattern that is not <class>-* or masked-<jurisdiction>-<class>-* is a finding; the others are still read', () => {
    const odd = ['logs-2026.*', 'Xpublic-*', 'public-*x', 'xmasked-us-pii-*', 'masked-us-pii-*x'];
    expect(findingsOf('us-east-1', follow({ region: 'eu-west-1' }, ...odd, 'phi-*'))).toEqual([
      ...odd.map((p) => ({
        edge: `OpenSearch eu-west-1 → us-east-1 (indices ${p})`,
        reason: 'the pattern is not <class>-* or masked-<jurisdiction>-<class>-*',
      })),
      { edge: 'OpenSearch eu-west-1 → us-east-1 (indices phi-*)', reason: PHI_EU_US },
    ]);
  });

  test('a follower without a leader region, or in a region the plan does not know, is refused', () => {
    expect(findingsOf('us-east-1', follow(undefined, 'public-*'))).toEqual([
      { edge: 'OpenSearch  → us-east-1 (indices public-*)', reason: 'unknown region ""' },
    ]);
    expect(findingsOf('us-west-2', follow({ region: 'us-east-1' }, 'masked-us-pii-*'))).toEqual([
      {
        edge: 'OpenSearch us-east-1 → us-west-2 (indices masked-us-pii-*)',
        reason: 'unknown region "us-west-2"',
      },
    ]);
  });
});

describe('S3 replication rules', () => {
  const arn = (region: string) => `arn:aws:s3:::meridian-prod-${region}-data-111111111111`;
  const bucket = (name: string | undefined, ...rules: object[]): Resource => ({
    Type: 'AWS::S3::Bucket',
    Properties: {
      ...(name ? { BucketName: name } : {}),
      ReplicationConfiguration: { Role: 'arn:aws:iam::111111111111:role/r', Rules: rules },
    },
  });
  const rule = (to: unknown, prefix?: string) => ({
    Status: 'Enabled',
    ...(prefix === undefined ? {} : { Filter: { Prefix: prefix } }),
    Destination: { Bucket: to },
  });
  const EU_DATA = 'meridian-prod-eu-west-1-data-111111111111';

  test.each<[name: string, to: string, prefix: string, reason: string | undefined]>([
    ['a whole-bucket copy inside the jurisdiction', 'eu-central-1', '', undefined],
    ['a class allowed in full', 'us-east-1', 'public/', undefined],
    ['masked projections for the target', 'us-east-1', 'masked/us/pii/', undefined],
    ['a masked-only class in full', 'us-east-1', 'pii/', 'pii may only go masked'],
    ['a class the plan denies', 'us-east-1', 'phi/', PHI_EU_US],
    // Classes are checked in order (internal, phi, pii, public): phi is the first refused.
    ['a whole-bucket copy out of the jurisdiction', 'us-east-1', '', PHI_EU_US],
    [
      'masked projections for another jurisdiction',
      'us-east-1',
      'masked/eu/pii/',
      'masked projections for eu must not go to us-east-1 (us)',
    ],
    ...['pii', 'a/pii/', 'pii/x', 'xmasked/us/pii/', 'masked/us/pii/x', 'masked/us/'].map(
      (p) =>
        [
          `a prefix of another shape (${p})`,
          'us-east-1',
          p,
          `prefix ${p} is not <class>/ or masked/<jurisdiction>/<class>/`,
        ] as [string, string, string, string],
    ),
  ])('eu-west-1 data: %s', (_name, to, prefix, reason) => {
    const edge = `S3 data eu-west-1 → ${to} (${prefix ? `prefix ${prefix}` : 'whole bucket'})`;
    expectFinding('eu-west-1', bucket(EU_DATA, rule(arn(to), prefix)), edge, reason);
  });

  test('masked projections the plan denies', () => {
    expect(
      findingsOf(
        'us-east-1',
        bucket(
          'meridian-prod-us-east-1-data-111111111111',
          rule(arn('eu-west-1'), 'masked/us/pii/'),
        ),
      ),
    ).toEqual([
      { edge: 'S3 data us-east-1 → eu-west-1 (prefix masked/us/pii/)', reason: PII_US_EU },
    ]);
  });

  test('a rule without a filter is a whole-bucket copy; the legacy Prefix is read as the filter', () => {
    expect(
      findingsOf(
        'eu-west-1',
        bucket(EU_DATA, rule(arn('us-east-1')), { ...rule(arn('us-east-1')), Prefix: 'phi/' }),
      ),
    ).toEqual([
      { edge: 'S3 data eu-west-1 → us-east-1 (whole bucket)', reason: PHI_EU_US },
      { edge: 'S3 data eu-west-1 → us-east-1 (prefix phi/)', reason: PHI_EU_US },
    ]);
  });

  test('a destination given as an intrinsic is read through its text', () => {
    const joined = {
      'Fn::Join': ['', ['arn:aws:s3:::', 'meridian-prod-us-east-1-data-111111111111']],
    };
    expect(findingsOf('eu-west-1', bucket(EU_DATA, rule(joined, 'phi/')))).toEqual([
      { edge: 'S3 data eu-west-1 → us-east-1 (prefix phi/)', reason: PHI_EU_US },
    ]);
  });

  test('a destination that is no Meridian bucket, or none, is a finding', () => {
    const { Destination: _, ...noDestination } = rule(arn('us-east-1'), 'public/');
    expect(
      findingsOf(
        'eu-west-1',
        bucket(EU_DATA, rule('arn:aws:s3:::someone-else', 'public/'), noDestination),
      ),
    ).toEqual(
      Array(2).fill({
        edge: 'S3 data eu-west-1 → unknown bucket (prefix public/)',
        reason: 'destination is not a Meridian bucket of a known region',
      }),
    );
  });

  test('masked projections to a Meridian bucket of a region the plan does not know are refused', () => {
    expect(
      findingsOf('eu-west-1', bucket(EU_DATA, rule(arn('us-west-2'), 'masked/us/pii/'))),
    ).toEqual([
      {
        edge: 'S3 data eu-west-1 → us-west-2 (prefix masked/us/pii/)',
        reason: 'unknown region "us-west-2"',
      },
    ]);
  });

  test.each([
    ['an audit bucket', 'meridian-prod-eu-west-1-audit-111111111111', 'audit'],
    ['a bucket Meridian did not name', undefined, 'unknown'],
  ])(
    '%s may hold any class: even a class prefix needs every class allowed in full',
    (_n, name, purpose) => {
      expect(findingsOf('eu-west-1', bucket(name, rule(arn('eu-central-1'), 'public/')))).toEqual(
        [],
      );
      expect(findingsOf('eu-west-1', bucket(name, rule(arn('us-east-1'), 'public/')))).toEqual([
        {
          edge: `S3 ${purpose} eu-west-1 → us-east-1 (prefix public/)`,
          reason: PHI_EU_US,
        },
      ]);
    },
  );
});

describe('ResidencyGuard (the synth plugin)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'guard-unit-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const forbidden = {
    Resources: {
      Secret: {
        Type: 'AWS::SecretsManager::Secret',
        Properties: { ReplicaRegions: [{ Region: 'us-east-1' }] },
      },
    },
  };
  const stack = (file: string, region: string | undefined, template: object) => {
    const templatePath = path.join(dir, file);
    fs.writeFileSync(templatePath, JSON.stringify(template));
    return { stackConstructPath: file, templatePath, accountId: undefined, region };
  };
  // The plugin reads only the templates; the app construct is not needed.
  const context = (...stackTemplates: ReturnType<typeof stack>[]) =>
    ({
      templatePaths: stackTemplates.map((s) => s.templatePath),
      stackTemplates,
    }) as unknown as IPolicyValidationContext;

  test('reports each finding of each regional template as an error on its resource', () => {
    const guard = new ResidencyGuard(index, naming);
    expect(guard.name).toBe('Meridian-ResidencyGuard');
    const eu = stack('eu.json', 'eu-west-1', forbidden);
    // A stack without a region (environment-agnostic) has no edges to judge.
    const agnostic = stack('agnostic.json', undefined, forbidden);
    const clean = stack('us.json', 'us-east-1', { Resources: {} });
    expect(guard.validate(context(agnostic, eu, clean))).toEqual({
      success: false,
      violations: [
        {
          ruleName: 'Meridian-ResidencyGuard',
          description:
            'Secrets Manager replica eu-west-1 → us-east-1 is not allowed by the residency plan: a secret of eu may not be replicated to us-east-1 (us)',
          fix: 'Take replication edges from the residency plan (lambda/shared/residency-plan.ts); change regions/ if the policy itself must change.',
          severity: 'error',
          violatingResources: [
            {
              resourceLogicalId: 'Secret',
              templatePath: eu.templatePath,
              locations: ['Properties'],
            },
          ],
        },
      ],
    });
    expect(guard.validate(context(agnostic, clean))).toEqual({ success: true, violations: [] });
  });
});
