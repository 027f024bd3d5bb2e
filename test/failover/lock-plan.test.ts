import { Match } from 'aws-cdk-lib/assertions';
import * as fc from 'fast-check';
import {
  lockInsideCell,
  lockPlan,
  MRSC_REGION_SETS,
  mrscSetOf,
} from '../../lib/failover/lock-plan';
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
      'two Indian regions alone (no MRSC set, nothing outside): the takeover region',
      [r('ap-south-1', 1), r('ap-south-2', 2)],
      { consistency: 'single-home', home: 'ap-south-2', replicas: ['ap-south-2'] },
    ],
    [
      'one region alone: a lock in that region (no pair to split)',
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
    const home = lockPlan([r('ap-south-1', 1), r('ap-south-2', 2)], { lockHome: 'eu-west-1' });
    expect(home).toEqual({
      consistency: 'single-home',
      home: 'eu-west-1',
      replicas: ['eu-west-1'],
      endpoints: { 'ap-south-1': ['eu-west-1'], 'ap-south-2': ['eu-west-1'] },
    });
  });

  test('the witness and replicas always lie in one published Region set', () => {
    expect(mrscSetOf(['us-east-1', 'eu-west-1'])).toBeUndefined();
    for (const set of Object.values(MRSC_REGION_SETS)) {
      const plan = lockPlan(set.slice(0, 2).map((id, i) => r(id, i + 1)));
      expect(set).toEqual(expect.arrayContaining([...plan.replicas, plan.witness]));
    }
  });
});

describe('lock plan: a cell outside every MRSC set keeps its lock outside itself', () => {
  const india = [r('ap-south-1', 1), r('ap-south-2', 2)];
  const shipped = [r('us-east-1', 1), r('us-west-2', 2), r('eu-west-1', 1), r('eu-central-1', 2)];

  test('India with US and EU regions: MRSC in the set with most of them, witness in the set', () => {
    const plan = lockPlan(india, { outside: [...shipped, r('me-central-1', 1)] });
    expect(plan).toEqual({
      consistency: 'strong',
      home: 'us-east-1',
      replicas: ['us-east-1', 'us-west-2'],
      witness: 'us-east-2',
      endpoints: {
        'ap-south-1': ['us-east-1', 'us-west-2'],
        'ap-south-2': ['us-east-1', 'us-west-2'],
      },
    });
    expect(lockInsideCell(plan, ['ap-south-1', 'ap-south-2'])).toBe(false);
  });

  test('the set holding most of the other regions wins (EU: three, US: two)', () => {
    const plan = lockPlan(india, { outside: [...shipped, r('eu-west-3', 3)] });
    expect(plan.replicas).toEqual(['eu-west-1', 'eu-central-1', 'eu-west-3']);
    expect(plan.witness).toBeUndefined();
  });

  test('one other region in a set: a second replica in the set, and a witness', () => {
    const plan = lockPlan(india, { outside: [r('eu-central-1', 1)] });
    expect(plan).toMatchObject({
      consistency: 'strong',
      home: 'eu-central-1',
      replicas: ['eu-central-1', 'eu-west-1'],
      witness: 'eu-west-2',
    });
  });

  test('other regions in no MRSC set: a single home in the first of them', () => {
    const plan = lockPlan(india, { outside: [r('me-central-1', 1), r('ap-southeast-1', 1)] });
    expect(plan).toMatchObject({ consistency: 'single-home', home: 'ap-southeast-1' });
    expect(lockInsideCell(plan, ['ap-south-1', 'ap-south-2'])).toBe(false);
  });

  test('a one-region cell goes outside too, where it can', () => {
    expect(lockPlan([r('me-central-1', 1)], { outside: shipped }).home).toBe('us-east-1');
  });

  test('a cell inside one MRSC set keeps its own MRSC lock; lockHome does not move it', () => {
    const us = [r('us-east-1', 1), r('us-west-2', 2)];
    expect(lockPlan(us, { outside: india, lockHome: 'ap-south-1' })).toEqual(lockPlan(us));
  });

  test('nothing outside: the lock lives only in the cell (the config rule refuses it)', () => {
    expect(lockInsideCell(lockPlan(india), ['ap-south-1', 'ap-south-2'])).toBe(true);
  });

  test('property: with any region outside, no lock of a cell lives only inside it', () => {
    const pool = [
      ...Object.values(MRSC_REGION_SETS).flat(),
      'ap-south-1',
      'ap-south-2',
      'me-central-1',
      'ap-southeast-1',
    ];
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom(...pool), { minLength: 2, maxLength: 8 }),
        fc.integer({ min: 1, max: 7 }),
        (regions, cut) => {
          const cellIds = regions.slice(0, Math.min(cut, regions.length - 1));
          const cell = cellIds.map((id, i) => r(id, i + 1));
          const outside = regions.slice(cellIds.length).map((id, i) => r(id, i + 1));
          const plan = lockPlan(cell, { outside });
          expect(lockInsideCell(plan, cellIds)).toBe(false);
          // Every cell region has endpoints, all of them members; an MRSC lock has three members.
          for (const id of cellIds)
            for (const e of plan.endpoints[id] ?? []) expect(plan.replicas).toContain(e);
          if (plan.consistency === 'strong')
            expect(plan.replicas.length + (plan.witness ? 1 : 0)).toBe(3);
        },
      ),
    );
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

  test('India, UAE, APAC: no table in their own regions; MRSC tables in us-east-1', () => {
    for (const region of ['ap-south-1', 'ap-south-2', 'me-central-1', 'ap-southeast-1'])
      expect(Object.keys(locks(region))).toHaveLength(0);
    const hosted = Object.values(locks('us-east-1'));
    expect(hosted.map((t) => t.Properties.TableName).sort()).toEqual([
      'meridian-prod-ae-runbook-lock',
      'meridian-prod-apac-runbook-lock',
      'meridian-prod-in-runbook-lock',
      'meridian-prod-us-runbook-lock',
    ]);
    for (const table of hosted) {
      expect(table.Properties).toMatchObject({
        MultiRegionConsistency: 'STRONG',
        GlobalTableWitnesses: [{ Region: 'us-east-2' }],
      });
      expect(
        ((table.Properties.Replicas ?? []) as { Region: string }[]).map((x) => x.Region).sort(),
      ).toEqual(['us-east-1', 'us-west-2']);
    }
  });

  test('no lock lives only in a region of the cell it arbitrates; every region is watched by three', () => {
    const config = load(EIGHT_REGIONS);
    const regions = config.regions.map((r) => r.id);
    const tables = regions.flatMap((host) =>
      Object.values(locks(host)).map((t) => ({
        name: String(t.Properties.TableName),
        members: [
          ...((t.Properties.Replicas ?? []) as { Region: string }[]).map((x) => x.Region),
          ...((t.Properties.GlobalTableWitnesses ?? []) as { Region: string }[]).map(
            (x) => x.Region,
          ),
        ],
      })),
    );
    expect(tables.map((t) => t.name).sort()).toEqual(
      ['ae', 'apac', 'eu', 'in', 'us'].map((j) => `meridian-prod-${j}-runbook-lock`),
    );
    for (const t of tables) {
      const cell = config.regions
        .filter((r) => t.name === `meridian-prod-${r.jurisdiction}-runbook-lock`)
        .map((r) => r.id);
      expect(t.members.some((m) => !cell.includes(m))).toBe(true);
    }
    // The region-down composite about each region, in the templates of its watchers.
    for (const region of regions) {
      const watchers = regions.filter((host) =>
        Object.values(built.template(host).findResources('AWS::CloudWatch::CompositeAlarm')).some(
          (a) => a.Properties.AlarmName === `meridian-prod-${region}-region-down`,
        ),
      );
      expect([region, watchers.length]).toEqual([region, 3]);
      expect(watchers).not.toContain(region);
    }
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
        /^\[(\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":dynamodb:(us-east-1|us-west-2):\d{12}:table\/meridian-prod-in-runbook-lock"\]\]\},?){2}\]$/,
      );
  });
});
