/**
 * Every game-day scenario (`npm run drill -- --scenario <name>`), executed on the minimal fixture's
 * eu cell (eu-west-1 writer, eu-central-1 takes over; MRSC lock, witness eu-west-2) with the
 * synthesized state machines and AWS's published durations. The acceptance of issue 16: no
 * split-brain, no command acted on without a valid token, a stale execution changes nothing.
 */
import {
  alarmFiresAt,
  detect,
  pageSeconds,
  runScenario,
  SCENARIOS,
} from '../../lib/failover/drill/scenarios';
import { DrillWorld } from '../../lib/failover/drill/world';
import { loadHandler, minimalRunbooks } from '../support/drill';
import { EIGHT_REGIONS, load as loadConfig, MINIMAL } from '../support/fixture';

const config = loadConfig(MINIMAL);
const runbooks = minimalRunbooks();
const run = (name: string) => runScenario(config, name, { load: loadHandler, runbooks });

test('the scenarios are the ones the README lists', () => {
  expect(Object.keys(SCENARIOS)).toEqual([
    'primary-dies',
    'throttled',
    'partition',
    'stale-execution',
    'slow-promotion',
    'failover-failback',
    'takeover-cut-off',
    'no-target',
  ]);
});

test('detection pages within 45 s of a failure: the worst case, and as measured in the world', async () => {
  expect(pageSeconds()).toBeLessThanOrEqual(45);
  const r = await run('primary-dies');
  expect(r.pageSeconds).toBeGreaterThan(0);
  expect(r.pageSeconds).toBeLessThanOrEqual(pageSeconds());
});

test('the India cut-off on the shipped shape (eight-region fixture): ap-south-2 alone sees ap-south-1 down', async () => {
  const eight = loadConfig(EIGHT_REGIONS);
  const r = await runScenario(eight, 'takeover-cut-off', { load: loadHandler });
  expect(r.pageSeconds).toBeUndefined();
  expect(r.outcomes).toEqual({ 'takeover-cut-off': 'no action' });
  expect(r.changes).toEqual([]);
  expect(r.acceptingWrites).toEqual(['ap-south-1']);
  expect(r.splitBrain).toBe(0);
}, 120_000);

test('primary dies: paged, promoted, writes accepted in the target within 150 s, no split-brain', async () => {
  const r = await run('primary-dies');
  expect(r.outcomes).toEqual({ 'primary-dies': 'failed over' });
  expect(r.pageSeconds).toBeLessThanOrEqual(45);
  expect(r.writesAcceptedSeconds).toBeGreaterThan(r.pageSeconds ?? 0);
  expect(r.writesAcceptedSeconds).toBeLessThanOrEqual(150);
  expect(r.rpoSeconds).toBe(1);
  // From the write stream: the writer accepted writes until it failed; the target had them up to
  // its replication lag before that.
  expect(r.lost).toEqual({ seconds: 1, writes: 167 });
  expect(r.splitBrain).toBe(0);
});

test('partition: the writer cut off from every other region; its watchers fail it over, it does not act, no split-brain', async () => {
  const r = await run('partition');
  expect(r.outcomes['from-peer']).toBe('failed over');
  // The cut-off side reads no votes: no majority sees its peer down, so it does not even try.
  expect(r.outcomes['from-writer']).toBe('no action');
  expect(r.changes.filter((c) => c.startsWith('rds:'))).toEqual([
    'rds:FailoverGlobalCluster AllowDataLoss=true → eu-central-1',
  ]);
  expect(r.splitBrain).toBe(0);
});

test('stale execution: resumes after another completed, its rollback refused, nothing changed', async () => {
  const r = await run('stale-execution');
  expect(r.outcomes.fresh).toBe('failed over');
  expect(r.outcomes.stale).toMatch(/^FAILED: .*rollback: refused, fencing token/);
  expect(r.staleActions).toBe(0);
  expect(r.splitBrain).toBe(0);
});

test('slow promotion: the lease is renewed while Aurora takes its time; the intruder is refused', async () => {
  const r = await run('slow-promotion');
  expect(r.outcomes).toEqual({ slow: 'failed over', intruder: 'lock held by another execution' });
  expect(r.changes.filter((c) => c.startsWith('rds:Failover'))).toHaveLength(1);
  expect(r.splitBrain).toBe(0);
});

test('failover then failback: the original region takes its role back, RPO 0 on the way back', async () => {
  const r = await run('failover-failback');
  expect(r.outcomes).toEqual({ failover: 'failed over', failback: 'failed back' });
  expect(r.changes).toContain('rds:SwitchoverGlobalCluster → eu-west-1');
  expect(r.splitBrain).toBe(0);
  // The failover lost the target's lag of the stream.
  expect(r.lost).toEqual({ seconds: 1, writes: 167 });
});

test('no healthy target: manual intervention, nothing promoted, no RTO to report', async () => {
  const r = await run('no-target');
  expect(r.outcomes).toEqual({ 'no-target': 'manual intervention: no healthy target' });
  expect(r.changes).toEqual([]);
  expect(r.writesAcceptedSeconds).toBeUndefined();
});

test('the India cut-off: the takeover region alone sees the writer down; no page, no failover, the writer keeps writing', async () => {
  const r = await run('takeover-cut-off');
  expect(r.pageSeconds).toBeUndefined();
  expect(r.outcomes).toEqual({ 'takeover-cut-off': 'no action' });
  expect(r.changes).toEqual([]);
  expect(r.acceptingWrites).toEqual(['eu-west-1']);
  expect(r.splitBrain).toBe(0);
});

describe('the majority alarm, evaluated as the template defines it', () => {
  const spec = (runbook: ReturnType<typeof runbooks>) =>
    runbook.alarms.get('meridian-prod-eu-west-1-critical-watchers');

  test('the runner’s template defines it: WatchersDown ≥ 2 of 1 datapoint of 10 s', () => {
    expect(spec(runbooks('eu-central-1'))).toEqual({
      metricName: 'WatchersDown',
      period: 10,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      threshold: 2,
      comparison: 'GreaterThanOrEqualToThreshold',
      treatMissingData: 'missing',
    });
  });

  test('fires a publish delay and a full evaluation interval after the first breaching datapoint', () => {
    const s = spec(runbooks('eu-central-1'));
    if (!s) throw new Error('no majority alarm in the template');
    const points = [0, 1, 1, 2, 2].map((value, i) => ({ at: i * 10_000, value }));
    expect(alarmFiresAt(s, points, 3_000)).toBe(30_000 + 3_000 + 10_000);
    expect(alarmFiresAt(s, points.slice(0, 3), 3_000)).toBeUndefined();
    // Three of three periods, for a stricter alarm: the first run of three breaching periods.
    const strict = { ...s, evaluationPeriods: 3, datapointsToAlarm: 3 };
    expect(alarmFiresAt(strict, [...points, { at: 50_000, value: 2 }], 3_000)).toBe(63_000);
  });

  test('a template whose alarm can never be met pages no one (the world does not assume the page)', () => {
    const s = spec(runbooks('eu-central-1'));
    if (!s) throw new Error('no majority alarm in the template');
    const pageWith = (alarm: typeof s) => {
      const world = new DrillWorld(runbooks('eu-central-1').config);
      try {
        world.fail('eu-west-1');
        return detect(world, 'eu-west-1', 'eu-central-1', true, alarm).page;
      } finally {
        world.restore();
      }
    };
    expect(pageWith({ ...s, threshold: 3 })).toBeUndefined();
    expect(pageWith(s)).toBeGreaterThan(0);
    expect(pageWith(s)).toBeLessThanOrEqual(pageSeconds());
  });
});

test('failback restores search following: the original catches up from the peer, then leads again', async () => {
  const r = await run('failover-failback');
  expect(r.outcomes).toEqual({ failover: 'failed over', failback: 'failed back' });
  expect(r.search).toEqual({
    // The peer led and took a document; the writer came back with its stale copy.
    'after failover': {
      'eu-west-1': ['pii-2024: leads (1 docs)'],
      'eu-central-1': ['pii-2024: leads (2 docs)'],
    },
    // Before the switch back, the original region's copy was replaced by a follower of the peer's
    // (run by its own search step, invoked by name in eu-west-1): it has what the peer took.
    'before the switch back': {
      'eu-west-1': ['pii-2024: follows eu-central-1 (2 docs)'],
      'eu-central-1': ['pii-2024: leads (2 docs)'],
    },
    // After it, as before the failover: the original leads, the peer follows it.
    'after failback': {
      'eu-west-1': ['pii-2024: leads (2 docs)'],
      'eu-central-1': ['pii-2024: follows eu-west-1 (2 docs)'],
    },
  });
});

test('throttled: Route 53 and RDS answer "Rate exceeded" for a while; the steps retry and fail over within 150 s', async () => {
  const r = await run('throttled');
  expect(r.outcomes).toEqual({ throttled: 'failed over' });
  expect(r.throttledCalls).toBeGreaterThan(0);
  expect(r.writesAcceptedSeconds).toBeLessThanOrEqual(150);
  expect(r.splitBrain).toBe(0);
  expect(r.staleActions).toBe(0);
});
