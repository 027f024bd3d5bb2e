/**
 * The runbook's pure decisions, one rule per test (the drill runs them end to end through the
 * synthesized state machine; these pin each branch and each message a human reads).
 */
import {
  assess,
  type Candidate,
  chooseTarget,
  modelledRto,
  type Signal,
  verify,
} from '../../lambda/shared/failover/decide';

const signals = (...s: Signal[]): Record<string, Signal> =>
  Object.fromEntries(s.map((v, i) => [`probe-${i}`, v]));

describe('verify: a quorum of independent signals', () => {
  test('counts only unhealthy signals; confirmed at exactly the quorum, not below', () => {
    const at = verify(
      'eu-west-1',
      signals('unhealthy', 'unknown', 'unhealthy', 'healthy'),
      {},
      2,
      true,
      7,
    );
    expect(at).toEqual({
      region: 'eu-west-1',
      signals: signals('unhealthy', 'unknown', 'unhealthy', 'healthy'),
      details: {},
      unhealthy: 2,
      quorum: 2,
      confirmed: true,
      writerReachable: true,
      at: 7,
    });
    expect(verify('eu-west-1', signals('unhealthy', 'unknown'), {}, 2, false, 7).confirmed).toBe(
      false,
    );
  });

  test('with watchers, their majority is required too: one cut path never confirms', () => {
    const seen = (watchers: Signal) => ({
      endpoint: 'unhealthy' as Signal,
      route53: 'unknown' as Signal,
      alarms: 'unhealthy' as Signal,
      watchers,
    });
    expect(verify('ap-south-1', seen('unhealthy'), {}, 2, false, 0).confirmed).toBe(true);
    // The takeover region alone sees the writer down (its probe, its own alarm): 2 of 4, no majority.
    expect(verify('ap-south-1', seen('healthy'), {}, 2, false, 0).confirmed).toBe(false);
    expect(verify('ap-south-1', seen('unknown'), {}, 2, false, 0).confirmed).toBe(false);
    // The watchers' majority alone is not the quorum either.
    expect(
      verify('ap-south-1', { watchers: 'unhealthy', endpoint: 'healthy' }, {}, 2, true, 0)
        .confirmed,
    ).toBe(false);
  });

  test('carries the replication lag only when it is known (0 included)', () => {
    expect(verify('r', {}, {}, 1, true, 0, 0)).toHaveProperty('replicationLagSeconds', 0);
    expect(verify('r', {}, {}, 1, true, 0)).not.toHaveProperty('replicationLagSeconds');
  });
});

describe('assess', () => {
  const v = (unhealthy: number, writerReachable: boolean, replicationLagSeconds?: number) =>
    verify(
      'eu-west-1',
      signals(
        ...Array.from({ length: 3 }, (_, i): Signal => (i < unhealthy ? 'unhealthy' : 'healthy')),
      ),
      {},
      2,
      writerReachable,
      0,
      replicationLagSeconds,
    );

  test('planned switchover: the writer must answer, else a human decides', () => {
    expect(assess(v(0, true), 'switchover', 5)).toEqual({
      action: 'switchover',
      severity: 'info',
      reason: 'planned switchover: writer reachable, RPO 0',
    });
    expect(assess(v(3, false), 'switchover', 5)).toEqual({
      action: 'manual',
      severity: 'critical',
      reason: 'planned switchover asked for, but the writer is unreachable: decide on a failover',
    });
  });

  test('an unconfirmed failure is no action and says why', () => {
    expect(assess(v(1, false), 'auto', 5)).toEqual({
      action: 'none',
      severity: 'info',
      reason: '1 of 3 signals unhealthy; quorum is 2',
    });
  });

  test('a forced failover acts on an unconfirmed failure, even with the writer answering', () => {
    expect(assess(v(1, true, 0), 'failover', 5)).toMatchObject({
      action: 'failover',
      severity: 'critical',
    });
  });

  test('confirmed, writer answering, lag at the threshold: graceful switchover', () => {
    expect(assess(v(2, true, 5), 'auto', 5)).toEqual({
      action: 'switchover',
      severity: 'warning',
      reason: 'region failing but its writer answers: graceful switchover, RPO 0',
    });
    expect(assess(v(2, true), 'auto', 5).action).toBe('switchover');
  });

  test('confirmed with lag above the threshold, or the writer gone: failover, saying which', () => {
    expect(assess(v(2, true, 6), 'auto', 5)).toEqual({
      action: 'failover',
      severity: 'critical',
      reason: 'replication lag 6 s above 5 s: failover',
    });
    expect(assess(v(2, false, 0), 'auto', 5)).toEqual({
      action: 'failover',
      severity: 'critical',
      reason: 'writer unreachable: failover with possible data loss (RPO = last replication lag)',
    });
  });
});

describe('chooseTarget', () => {
  const c = (id: string, over: Partial<Candidate> = {}): Candidate => ({
    id,
    jurisdiction: 'eu',
    failoverPriority: 1,
    capacity: 1,
    healthy: true,
    ...over,
  });
  const failed = { id: 'eu-west-1', jurisdiction: 'eu' };

  test('best priority first, then the larger capacity, then the id', () => {
    const pick = (...cs: Candidate[]) => chooseTarget(failed, cs).target;
    expect(pick(c('b', { failoverPriority: 2 }), c('a', { failoverPriority: 1 }))).toBe('a');
    expect(pick(c('a', { failoverPriority: 2 }), c('b', { failoverPriority: 1 }))).toBe('b');
    expect(pick(c('a', { capacity: 1 }), c('b', { capacity: 3 }))).toBe('b');
    expect(pick(c('b', { capacity: 3 }), c('a', { capacity: 1 }))).toBe('b');
    expect(pick(c('b'), c('a'))).toBe('a');
    expect(pick(c('a'), c('b'))).toBe('a');
  });

  test('never the failed region, another jurisdiction, an unhealthy one or one outside failoverTo', () => {
    const choice = chooseTarget({ ...failed, failoverTo: ['eu-central-1', 'eu-south-1'] }, [
      c('eu-west-1', { failoverPriority: 0 }),
      c('us-east-1', { jurisdiction: 'us', failoverPriority: 0 }),
      c('eu-north-1', { failoverPriority: 0 }),
      c('eu-south-1', { failoverPriority: 0, healthy: false }),
      c('eu-central-1', { failoverPriority: 3 }),
    ]);
    expect(choice).toEqual({
      target: 'eu-central-1',
      reason: 'eu-central-1: healthy, priority 3',
      considered: ['eu-south-1 (unhealthy)', 'eu-central-1'],
    });
  });

  test('the failed region itself is never the target, however it reports', () => {
    expect(
      chooseTarget(failed, [c('eu-west-1', { failoverPriority: 0 }), c('eu-central-1')]).target,
    ).toBe('eu-central-1');
  });

  test('no healthy region of its own, or none at all: manual intervention, saying which', () => {
    expect(
      chooseTarget(failed, [
        c('eu-central-1', { healthy: false }),
        c('eu-south-1', { healthy: false }),
      ]),
    ).toEqual({
      reason:
        'no healthy region in eu (eu-central-1 (unhealthy), eu-south-1 (unhealthy)): manual intervention',
      considered: ['eu-central-1 (unhealthy)', 'eu-south-1 (unhealthy)'],
    });
    expect(chooseTarget(failed, [c('us-east-1', { jurisdiction: 'us' })])).toEqual({
      reason: 'no other region in eu: manual intervention (never a cross-jurisdiction promotion)',
      considered: [],
    });
  });
});

test('modelledRto: detection, then the slower of DNS and the steps', () => {
  expect(
    modelledRto({ intervalSeconds: 10, failureThreshold: 3, ttlSeconds: 60, stepSeconds: 20 }),
  ).toEqual({
    detect: 30,
    total: 90,
  });
  expect(
    modelledRto({ intervalSeconds: 10, failureThreshold: 3, ttlSeconds: 20, stepSeconds: 60 })
      .total,
  ).toBe(90);
});
