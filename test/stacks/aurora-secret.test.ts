/**
 * The Aurora master secret follows the cell: named `<platform>-<env>-<jurisdiction>-aurora-credentials`
 * in the writer's region, replicated to the cell's other regions only (each replica under that
 * region's own key), and read in each region from that region's copy. On the minimal fixture with
 * a third EU region (eu-west-1 writer, eu-central-1 and eu-west-3 in its cell; us-east-1 a cell
 * of one).
 */
import { Stack } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { checkTemplate } from '../../lib/compliance/residency-guard';
import { DB_SECRET_NAME_ENV } from '../../lib/data/aurora-global';
import { MeridianFunction } from '../../lib/functions/meridian-function';
import { Naming } from '../../lib/naming';
import type { RegionalStack } from '../../lib/regional-stack';
import { buildApp } from '../support/app';
import { copyRegions, load, MINIMAL, write } from '../support/fixture';

const dir = copyRegions(MINIMAL);
write(
  dir,
  'eu-west-3.yaml',
  [
    'id: eu-west-3',
    'jurisdiction: eu',
    'tier: tertiary',
    'failoverPriority: 3',
    'capacity: 40',
    'cidr: 10.22.0.0/16',
    'cloudflare:',
    '  regions: []',
    '  latitude: 48.9',
    '  longitude: 2.3',
    '',
  ].join('\n'),
);
const config = load(dir);
const index = new ResidencyIndex(config.plan);
const naming = new Naming('meridian', 'prod');
const built = buildApp(config);
const stackOf = (region: string) => built.stacks.find((s) => s.region === region) as RegionalStack;

/**
 * A function in each region that should work with the database once its region is promoted
 * (the sync pipeline of issue 17 will be one): given the credentials as the stacks give them.
 */
for (const stack of built.stacks) {
  if (!stack.data.aurora) continue;
  const probe = new MeridianFunction(stack, 'DbProbe', {
    ...stack.foundation.functions,
    handler: 'health',
    description: 'test probe: a function that needs the database credentials',
    timeoutSeconds: 5,
  });
  stack.data.aurora.grantCredentials(probe);
}

type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };
const templateOf = (region: string) =>
  structuredClone(built.template(region).toJSON()) as { Resources: Record<string, Resource> };

/** `{Fn::Join: ['', ['arn:', {Ref: AWS::Partition}, …]]}` as text, the partition as `aws`. */
function text(v: unknown): string {
  if (typeof v === 'string') return v;
  const o = v as { Ref?: string; 'Fn::Join'?: [string, unknown[]] };
  if (o.Ref === 'AWS::Partition') return 'aws';
  if (o['Fn::Join']) return o['Fn::Join'][1].map(text).join(o['Fn::Join'][0]);
  return JSON.stringify(v);
}

const masterSecrets = (region: string) =>
  Object.entries(templateOf(region).Resources).filter(
    ([, r]) =>
      r.Type === 'AWS::SecretsManager::Secret' &&
      JSON.stringify(r.Properties.GenerateSecretString ?? {}).includes('meridian_admin'),
  );

/**
 * Every IAM policy statement of `region` that reads a secret by ARN text (a secret of the stack
 * itself is a `Ref`: the Cloudflare token, the cache AUTH token), per role.
 */
function secretStatements(region: string) {
  return Object.values(templateOf(region).Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => {
      const doc = r.Properties.PolicyDocument as {
        Statement: { Action: string | string[]; Resource: unknown; Sid?: string }[];
      };
      const roles = (r.Properties.Roles as { Ref: string }[]).map((x) => x.Ref);
      return doc.Statement.filter((s) =>
        [s.Action].flat().some((a) => a.startsWith('secretsmanager:')),
      )
        .map((s) => ({
          roles,
          actions: [s.Action].flat(),
          resources: [s.Resource].flat().map(text),
        }))
        .filter((s) => s.resources.some((x) => x.includes(':secretsmanager:')));
    });
}

const probeRole = (region: string) =>
  Stack.of(stackOf(region)).getLogicalId(
    (stackOf(region).node.findChild('DbProbe') as MeridianFunction).role.node.defaultChild as never,
  );

describe('Aurora master secret, replicated inside the cell', () => {
  test('the fixture: eu-west-1 writes for eu-central-1 and eu-west-3; us-east-1 is a cell of one', () => {
    expect(config.plan.cells.map((c) => [c.primary, c.regions])).toEqual([
      ['eu-west-1', ['eu-west-1', 'eu-central-1', 'eu-west-3']],
      ['us-east-1', ['us-east-1']],
    ]);
  });

  test('the writer’s secret has the cell’s name and a replica in exactly each other cell region, under that region’s key', () => {
    const secrets = masterSecrets('eu-west-1');
    expect(secrets).toHaveLength(1);
    const [, secret] = secrets[0] as [string, Resource];
    expect(secret.Properties.Name).toBe('meridian-prod-eu-aurora-credentials');
    expect(
      (secret.Properties.ReplicaRegions as { Region: string; KmsKeyId: unknown }[]).map((r) => [
        r.Region,
        text(r.KmsKeyId),
      ]),
    ).toEqual(
      ['eu-central-1', 'eu-west-3'].map((r) => [
        r,
        `arn:aws:kms:${r}:111111111111:alias/meridian-prod`,
      ]),
    );
    expect(secret.DeletionPolicy).toBe('Retain');
  });

  test('rotation stays on the writer’s secret (Secrets Manager copies each version to the replicas)', () => {
    const t = built.template('eu-west-1');
    const [logicalId] = masterSecrets('eu-west-1')[0] as [string, Resource];
    t.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: Match.stringLikeRegexp('^AuroraClusterSecretAttachment') },
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
    });
    t.hasResourceProperties('AWS::SecretsManager::SecretTargetAttachment', {
      SecretId: { Ref: logicalId },
      TargetType: 'AWS::RDS::DBCluster',
    });
  });

  test('a cell of one region names its secret and replicates it nowhere', () => {
    const secrets = masterSecrets('us-east-1');
    expect(secrets).toHaveLength(1);
    const [, secret] = secrets[0] as [string, Resource];
    expect(secret.Properties.Name).toBe('meridian-prod-us-aurora-credentials');
    expect(secret.Properties.ReplicaRegions).toBeUndefined();
  });

  test.each(['eu-central-1', 'eu-west-3'])(
    '%s has no secret of its own and reads only its own region’s replica, by name',
    (region) => {
      expect(masterSecrets(region)).toEqual([]);
      const t = built.template(region);
      const role = probeRole(region);
      t.hasResourceProperties('AWS::Lambda::Function', {
        Role: { 'Fn::GetAtt': [role, 'Arn'] },
        Environment: {
          Variables: Match.objectLike({
            [DB_SECRET_NAME_ENV]: 'meridian-prod-eu-aurora-credentials',
          }),
        },
      });
      // Every statement of the stack that reads the master secret: the probe's, the writer
      // keeper's (which fences this region's database), sync's three functions' (which act while
      // this region is the writer), the sync schema resource's and the data-subject request
      // function's, only this region's copy.
      const keeperRole = Stack.of(stackOf(region)).getLogicalId(
        stackOf(region).writerKeeper?.function.role.node.defaultChild as never,
      );
      const statement = (r: string) => ({
        roles: [r],
        actions: ['secretsmanager:GetSecretValue'],
        resources: [
          `arn:aws:secretsmanager:${region}:111111111111:secret:meridian-prod-eu-aurora-credentials-??????`,
        ],
      });
      expect(secretStatements(region)).toEqual(
        expect.arrayContaining([statement(role), statement(keeperRole)]),
      );
      const master = secretStatements(region).filter((x) =>
        x.resources.some((r) => r.includes('aurora-credentials')),
      );
      expect(master).toHaveLength(7);
      for (const x of master) expect(x.resources).toEqual(statement(role).resources);
      // Decrypt with this region's key, through Secrets Manager here only.
      const decrypt = Object.values(templateOf(region).Resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy')
        .flatMap(
          (r) =>
            (r.Properties.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement,
        )
        .filter((s) => s.Sid === 'DecryptAuroraSecret');
      // One statement per reader (the probe, the keeper, sync's three, the schema, the subject
      // request function), each the same.
      expect(decrypt).toHaveLength(7);
      for (const d of decrypt)
        expect(d).toEqual({
          Sid: 'DecryptAuroraSecret',
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: { 'Fn::GetAtt': [expect.stringMatching(/^RegionalKey/), 'Arn'] },
          Condition: {
            StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
          },
        });
    },
  );

  test('the writer’s own functions read the primary in their region (no replica elsewhere)', () => {
    expect([...new Set(secretStatements('eu-west-1').flatMap((s) => s.resources))]).toEqual([
      'arn:aws:secretsmanager:eu-west-1:111111111111:secret:meridian-prod-eu-aurora-credentials-??????',
    ]);
  });
});

describe('residency guard on the master secret', () => {
  test('replicas inside the cell pass', () => {
    for (const r of config.regions)
      expect(checkTemplate(index, naming, r.id, templateOf(r.id))).toEqual([]);
  });

  test('a replica outside the jurisdiction is a finding on the secret', () => {
    const t = templateOf('eu-west-1');
    const [logicalId, secret] = masterSecrets('eu-west-1')[0] as [string, Resource];
    const replicas = structuredClone(secret.Properties.ReplicaRegions) as object[];
    (t.Resources[logicalId] as Resource).Properties.ReplicaRegions = [
      ...replicas,
      { Region: 'us-east-1', KmsKeyId: 'alias/meridian-prod' },
    ];
    expect(checkTemplate(index, naming, 'eu-west-1', t)).toEqual([
      {
        logicalId,
        edge: 'Secrets Manager replica eu-west-1 → us-east-1',
        reason: 'a secret of eu may not be replicated to us-east-1 (us)',
      },
    ]);
  });
});
