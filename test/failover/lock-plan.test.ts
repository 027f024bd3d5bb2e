import { Match } from 'aws-cdk-lib/assertions';
import { lockPlan, MRSC_REGION_SETS, mrscSetOf } from '../../lib/failover/lock-plan';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const r = (id: string, failoverPriority: number, capacity = 100) => ({
  id,
  failoverPriority,
  capacity,
});

describe('lock plan: where a cell keeps its runbook lock', () => {
  test.each([
    [
      'two US regions: MRSC with the third US region as witness',
      [r('us-east-1', 1), r('us-west-2', 2)],
      {
        consistency: 'strong',
        home: 'us-east-1',
        replicas: ['us-east-1', 'us-west-2'],
        witness: 'us-east-2',
      },
    ],
    [
      'two EU regions: MRSC, witness eu-west-2',
      [r('eu-central-1', 2), r('eu-west-1', 1)],
      {
        consistency: 'strong',
        home: 'eu-west-1',
        replicas: ['eu-west-1', 'eu-central-1'],
        witness: 'eu-west-2',
      },
    ],
    [
      'three AP regions of the set: three replicas, no witness',
      [r('ap-northeast-1', 1), r('ap-northeast-2', 2), r('ap-northeast-3', 3)],
      { consistency: 'strong', replicas: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'] },
    ],
    [
      'two Indian regions (no MRSC set): one lock home, the region that takes over from the writer',
      [r('ap-south-1', 1), r('ap-south-2', 2)],
      { consistency: 'single-home', home: 'ap-south-2', replicas: ['ap-south-2'] },
    ],
    [
      'regions across two sets: one lock home',
      [r('us-east-1', 1), r('eu-west-1', 2)],
      { consistency: 'single-home', home: 'eu-west-1' },
    ],
    [
      'one region: a lock in that region',
      [r('me-central-1', 1)],
      { consistency: 'single-home', home: 'me-central-1', replicas: ['me-central-1'] },
    ],
  ])('%s', (_name, regions, expected) => {
    const plan = lockPlan(regions);
    expect(plan).toMatchObject(expected);
    if (!('witness' in expected)) expect(plan.witness).toBeUndefined();
  });

  test('four EU regions: the three first by priority hold replicas; the fourth calls them', () => {
    const plan = lockPlan([
      r('eu-west-3', 4),
      r('eu-west-1', 1),
      r('eu-central-1', 2),
      r('eu-west-2', 3),
    ]);
    expect(plan.replicas).toEqual(['eu-west-1', 'eu-central-1', 'eu-west-2']);
    expect(plan.witness).toBeUndefined();
    expect(plan.endpoints['eu-west-3']).toEqual(['eu-west-1', 'eu-central-1', 'eu-west-2']);
    expect(plan.endpoints['eu-central-1']).toEqual(['eu-central-1', 'eu-west-1', 'eu-west-2']);
  });

  test('every region calls its own replica first; a single home is everyone’s only endpoint', () => {
    const strong = lockPlan([r('us-east-1', 1), r('us-west-2', 2)]);
    expect(strong.endpoints).toEqual({
      'us-east-1': ['us-east-1', 'us-west-2'],
      'us-west-2': ['us-west-2', 'us-east-1'],
    });
    const home = lockPlan([r('ap-south-1', 1), r('ap-south-2', 2)]);
    expect(home.endpoints).toEqual({ 'ap-south-1': ['ap-south-2'], 'ap-south-2': ['ap-south-2'] });
    expect(lockPlan([r('ap-south-1', 1), r('ap-south-2', 2)], 'ap-south-1').home).toBe(
      'ap-south-1',
    );
  });

  test('the witness and replicas always lie in one published Region set', () => {
    expect(mrscSetOf(['us-east-1', 'eu-west-1'])).toBeUndefined();
    for (const set of Object.values(MRSC_REGION_SETS)) {
      const plan = lockPlan(set.slice(0, 2).map((id, i) => r(id, i + 1)));
      expect(set).toEqual(expect.arrayContaining([...plan.replicas, plan.witness]));
    }
  });
});

describe('lock table in the templates (eight-region fixture)', () => {
  const built = buildApp(load(EIGHT_REGIONS));
  const locks = (region: string) =>
    built.template(region).findResources('AWS::DynamoDB::GlobalTable', {
      Properties: { TableName: Match.stringLikeRegexp('-runbook-lock$') },
    });

  test('EU: one MRSC table in the writer, replicas in the cell, a witness in the EU set', () => {
    const [table, ...more] = Object.values(locks('eu-west-1'));
    expect(more).toHaveLength(0);
    expect(table?.Properties).toMatchObject({
      TableName: 'meridian-prod-eu-runbook-lock',
      MultiRegionConsistency: 'STRONG',
      GlobalTableWitnesses: [{ Region: 'eu-west-2' }],
    });
    expect(
      ((table?.Properties.Replicas ?? []) as { Region: string }[]).map((x) => x.Region).sort(),
    ).toEqual(['eu-central-1', 'eu-west-1']);
    expect(Object.keys(locks('eu-central-1'))).toHaveLength(0);
  });

  test('India: one table in the lock home ap-south-2, no replica, no MRSC', () => {
    expect(Object.keys(locks('ap-south-1'))).toHaveLength(0);
    const [table] = Object.values(locks('ap-south-2'));
    expect(table?.Properties.MultiRegionConsistency).toBeUndefined();
    expect(
      ((table?.Properties.Replicas ?? []) as { Region: string }[]).map((x) => x.Region),
    ).toEqual(['ap-south-2']);
  });

  test('runbook steps may use the lock only at their endpoints', () => {
    const policies = built.template('ap-south-1').findResources('AWS::IAM::Policy');
    const lockStatements = Object.values(policies).flatMap((p) =>
      (p.Properties.PolicyDocument.Statement as { Sid?: string; Resource: unknown }[]).filter(
        (s) => s.Sid === 'CellLock',
      ),
    );
    expect(lockStatements.length).toBeGreaterThan(0);
    for (const s of lockStatements)
      expect(JSON.stringify(s.Resource)).toMatch(
        /^\[?\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":dynamodb:ap-south-2:\d{12}:table\/meridian-prod-in-runbook-lock"\]\]\}\]?$/,
      );
  });
});
