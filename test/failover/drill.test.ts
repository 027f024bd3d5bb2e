import { type DrillResult, runDrill } from '../../lib/failover/drill/run';
import { DrillWorld } from '../../lib/failover/drill/world';
import { loadHandler as load, minimalRunbooks } from '../support/drill';

/** The minimal fixture: cell eu = eu-west-1 (writer) + eu-central-1; cell us = us-east-1 alone. */
const runbook = minimalRunbooks();

let world: DrillWorld;
afterEach(() => world?.restore());

async function drill(
  region: string,
  input: Record<string, unknown>,
  name = 'drill-1',
  before?: Record<string, () => Promise<void>>,
): Promise<DrillResult> {
  return runDrill(runbook(region), input as never, {
    name,
    load,
    ...(before ? { before } : {}),
    clock: world,
    notify: (state, message) => world.notifications.push({ subject: state, message }),
  });
}

describe('failover drill: the synthesized state machine, executed', () => {
  test('the runbook is taken from the template: every Task bound to a step function of it', () => {
    const rb = runbook('eu-central-1');
    expect([...new Set([...rb.tasks.values()].map((t) => t.handler))].sort()).toEqual([
      'failover-assess',
      'failover-choose-target',
      'failover-fence',
      'failover-lock',
      'failover-promote-aurora',
      'failover-promote-cache',
      'failover-record',
      'failover-repoint-search',
      'failover-rollback',
      'failover-shift-traffic',
      'failover-unlock',
      'failover-verify',
      'failover-verify-target',
    ]);
    expect(rb.config.cell.regions.map((r) => r.id)).toEqual(['eu-central-1', 'eu-west-1']);
  });

  test('primary down: promoted to the next eu region, traffic moved, report written', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const r = await drill('eu-central-1', { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ outcome: 'failed over' });
    expect(world.writer).toBe('eu-central-1');
    expect(world.calls).toContain('rds:FailoverGlobalCluster AllowDataLoss=true → eu-central-1');
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
    expect(world.answer('eu.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
    expect(world.pools.get('pool-eu-west-1')?.enabled).toBe(false);
    // Search: the promoted domain no longer follows the dead one; its index takes writes.
    const domain = world.config.search?.domains['eu-central-1'] ?? '';
    expect(world.search.domain(domain).indices.get('pii-2024')?.follow).toBeUndefined();
    expect([...world.search.domain(domain).rules.keys()]).toEqual([]);
    const [key, body] = [...world.objects].find(([k]) => k.includes('/failover/')) ?? [];
    expect(key).toMatch(
      /^meridian-prod-eu-central-1-audit-111111111111\/failover\/\d{4}\/\d\d\/\d\d\/drill-1\.json$/,
    );
    expect(JSON.parse(body ?? '{}')).toMatchObject({
      from: 'eu-west-1',
      to: 'eu-central-1',
      action: 'failover',
      rpoSeconds: 1,
    });
    expect(world.notifications.map((n) => n.subject)).toEqual(['Notify done']);
  });

  test('one bad probe cannot trigger it: a single unhealthy signal is no action', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.region('eu-west-1').alarms = ['meridian-prod-eu-west-1-critical-health'];
    const r = await drill('eu-central-1', { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' });
    expect(r.output).toMatchObject({ outcome: 'no action', assessment: { action: 'none' } });
    expect(world.calls).toEqual([]);
  });

  test('planned switchover: the RPO 0 path (SwitchoverGlobalCluster), traffic moved', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    const r = await drill('eu-central-1', {
      cell: 'eu',
      failedRegion: 'eu-west-1',
      mode: 'switchover',
    });
    expect(r.output).toMatchObject({
      outcome: 'failed over',
      assessment: { action: 'switchover' },
    });
    expect(world.calls).toContain('rds:SwitchoverGlobalCluster → eu-central-1');
    expect(world.calls.some((c) => c.startsWith('rds:FailoverGlobalCluster'))).toBe(false);
    const report = [...world.objects.values()].map((b) => JSON.parse(b))[0];
    expect(report).toMatchObject({ action: 'switchover', rpoSeconds: 0 });
    // The write stream agrees: a switchover synchronizes first and loses nothing.
    expect(world.losses).toEqual([{ to: 'eu-central-1', seconds: 0, writes: 0 }]);
  });

  test('two executions started together: exactly one acts, the other ends cleanly with "lock held"', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const input = { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' };
    const [a, b] = await Promise.all([
      drill('eu-central-1', input, 'exec-a'),
      drill('eu-central-1', input, 'exec-b'),
    ]);
    const outcomes = [a, b].map((r) => r.output?.outcome).sort();
    expect([a.status, b.status]).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(outcomes).toEqual(['failed over', 'lock held by another execution']);
    expect(world.calls.filter((c) => c.startsWith('rds:'))).toHaveLength(1);
  });

  test('an expired lease: the stale execution is refused at its next mutating step', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const input = { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' };
    let resume: () => void = () => undefined;
    const paused = new Promise<void>((r) => {
      resume = r;
    });
    let reached: () => void = () => undefined;
    const atFence = new Promise<void>((r) => {
      reached = r;
    });
    // Execution A stalls just before fencing, past its lease (900 s)...
    const a = drill('eu-central-1', input, 'exec-stale', {
      'Fence old region': async () => {
        reached();
        await paused;
      },
    });
    await atFence;
    world.advance(901_000);
    // ...B takes the lock over and fails over; then A wakes up.
    const b = await drill('eu-central-1', input, 'exec-fresh');
    expect(b.output).toMatchObject({ outcome: 'failed over' });
    const callsBefore = world.calls.length;
    resume();
    const stale = await a;
    expect(stale.status).toBe('FAILED');
    expect(stale.events.some((e) => e.state === 'Fenced' && e.type === 'entered')).toBe(true);
    expect(stale.error).toMatch(/fencing token 1 of exec-stale is no longer current/);
    // It changed nothing and did not roll back what it does not own.
    expect(world.calls.length).toBe(callsBefore);
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
  });

  test('target unhealthy during verify: rollback leaves routing as it was, alarm raised', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const r = await drill(
      'eu-central-1',
      { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' },
      'drill-rb',
      {
        'Verify target': async () => {
          world.region('eu-central-1').up = false;
        },
      },
    );
    expect(r.status).toBe('FAILED');
    expect(r.events.some((e) => e.state === 'Rolled back' && e.type === 'entered')).toBe(true);
    expect(r.error).toMatch(/rolled back after: .*eu-central-1 is not healthy after the switch/);
    // Aurora's writer already moved: sending traffic back to eu-west-1 or unfencing it would
    // give the cell two writers, so rollback leaves both as they are and says so.
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
    expect(world.pools.get('pool-eu-west-1')?.enabled).toBe(false);
    const alert = world.notifications.find((n) => n.subject === 'Alert rollback');
    expect(JSON.stringify(alert?.message)).toContain('eu-west-1 stays fenced');
    expect(world.acceptingWrites()).toEqual([]);
    // Aurora and the cache were promoted: the alert says so, for an operator to decide.
    expect(JSON.stringify(alert?.message)).toContain(
      'failover (data loss allowed) to eu-central-1',
    );
    // The lock is free again.
    const again = await drill(
      'eu-central-1',
      { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' },
      'drill-after',
    );
    expect(again.output?.lock).toMatchObject({ acquired: true });
  });

  test('no healthy region left in the jurisdiction: manual intervention, nothing promoted', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    world.region('eu-central-1').up = false;
    const r = await drill('eu-central-1', { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' });
    expect(r.output).toMatchObject({ outcome: 'manual intervention: no healthy target' });
    expect(world.calls).toEqual([]);
    expect(world.notifications.map((n) => n.subject)).toEqual(['Notify no target']);
  });

  test('a cell with a single region: manual intervention, never a cross-jurisdiction promotion', async () => {
    world = new DrillWorld(runbook('us-east-1').config);
    // Meridian's service fails there while AWS's own services answer: the runbook can run in it.
    world.fail('us-east-1', { wholly: false });
    world.untilWatchersSeeDown('us-east-1');
    const r = await drill('us-east-1', { cell: 'us', failedRegion: 'us-east-1', mode: 'auto' });
    expect(r.output).toMatchObject({
      outcome: 'manual intervention: no healthy target',
      target: {
        reason: 'no other region in us: manual intervention (never a cross-jurisdiction promotion)',
      },
    });
    expect(world.calls).toEqual([]);
  });
});

describe('failback drill: waits for approval; decline and timeout change nothing', () => {
  const failback = (approve: () => unknown, name: string): Promise<DrillResult> =>
    runDrill(
      runbook('eu-central-1', 'failback'),
      { cell: 'eu', originalRegion: 'eu-west-1', currentRegion: 'eu-central-1' },
      {
        name,
        load,
        clock: world,
        notify: (state, message) => {
          world.notifications.push({ subject: state, message });
          return state === 'Request approval' ? approve() : undefined;
        },
      },
    );
  const named = (name: string, message: string) => Object.assign(new Error(message), { name });

  /** eu-west-1 failed and eu-central-1 took over; now eu-west-1 is back. */
  async function afterFailover() {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const r = await drill(
      'eu-central-1',
      { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' },
      'fo',
    );
    expect(r.output?.outcome).toBe('failed over');
    world.recover('eu-west-1', 0.4);
    return world.calls.length;
  }

  test('approved: switch back with RPO 0, routing and pool restored, report written', async () => {
    await afterFailover();
    const r = await failback(() => ({ approved: true }), 'fb-approve');
    expect(r.output).toMatchObject({ outcome: 'failed back' });
    expect(world.writer).toBe('eu-west-1');
    expect(world.calls).toContain('rds:SwitchoverGlobalCluster → eu-west-1');
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-west-1.example.com');
    expect(world.pools.get('pool-eu-west-1')?.enabled).toBe(true);
    const approval = world.notifications.find((n) => n.subject === 'Request approval');
    expect((approval?.message as { Message?: unknown } | undefined)?.Message).toMatchObject({
      original: 'eu-west-1',
      current: 'eu-central-1',
      taskToken: 'drill-task-token-fb-approve',
    });
    expect(r.events.map((e) => e.state)).toContain('Stay healthy');
  });

  test.each([
    [
      'declined',
      () => {
        throw named('Declined', 'operator declined');
      },
      'declined: nothing changed',
    ],
    [
      'timed out',
      () => {
        throw named('States.Timeout', 'no answer in 24 h');
      },
      'approval timed out: nothing changed',
    ],
  ])('%s: nothing changes', async (_name, answer, outcome) => {
    const before = await afterFailover();
    const r = await failback(answer, `fb-${_name}`);
    expect(r.output).toMatchObject({ outcome });
    expect(world.calls).toHaveLength(before);
    expect(world.writer).toBe('eu-central-1');
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
  });

  test('the original region is not healthy: no approval is even asked for', async () => {
    const before = await afterFailover();
    world.region('eu-west-1').up = false;
    const r = await failback(() => ({ approved: true }), 'fb-unhealthy');
    expect(r.output).toMatchObject({ outcome: 'original not healthy: nothing changed' });
    expect(world.calls).toHaveLength(before);
    expect(world.notifications.some((n) => n.subject === 'Request approval')).toBe(false);
  });
});
