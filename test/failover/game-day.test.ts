/**
 * Game-day scenarios: the synthesized failover state machine executed against the drill world on
 * its virtual clock (AWS's published durations, lib/failover/drill/timings.ts), with partitions
 * and a lock that lives where lib/failover/lock-plan.ts puts it (minimal fixture: cell eu =
 * eu-west-1 writer + eu-central-1, MRSC with the witness in eu-west-2).
 */
import { setRegionState } from '../../lambda/shared/failover/region-state';
import { WRITER_LEASE } from '../../lambda/shared/failover/writer-lease';
import { type DrillResult, runDrill } from '../../lib/failover/drill/run';
import { TIMINGS } from '../../lib/failover/drill/timings';
import { DrillWorld } from '../../lib/failover/drill/world';
import { loadHandler as load, minimalRunbooks } from '../support/drill';

const runbook = minimalRunbooks();
let world: DrillWorld;
afterEach(() => world?.restore());

function drill(
  region: string,
  failedRegion: string,
  name: string,
  before?: Record<string, () => Promise<void>>,
): Promise<DrillResult> {
  return runDrill(runbook(region), { cell: 'eu', failedRegion, mode: 'auto' } as never, {
    name,
    load,
    clock: world,
    ...(before ? { before } : {}),
    notify: (state, message) => world.notifications.push({ subject: state, message }),
  });
}

const entered = (r: DrillResult, state: string) =>
  r.events.some((e) => e.state === state && e.type === 'entered');

/** A promise and the function that settles it: pauses an execution at a chosen step. */
function gate() {
  let open: () => void = () => undefined;
  const opened = new Promise<void>((r) => {
    open = r;
  });
  return { open, opened };
}

describe('game day', () => {
  test('primary dies: promotion is awaited, so traffic and the report come after the writer moved', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const start = world.now();
    const r = await drill('eu-central-1', 'eu-west-1', 'primary-dies');
    expect(r.output).toMatchObject({ outcome: 'failed over' });
    expect(world.writer).toBe('eu-central-1');
    const report = JSON.parse([...world.objects.values()][0] ?? '{}') as {
      rtoSeconds: number;
      timeline: { what: string; secondsFromStart: number }[];
    };
    const at = (what: string) => report.timeline.find((e) => e.what === what)?.secondsFromStart;
    // The fakes take AWS's minute to fail Aurora over; the runbook waited for it (no
    // "writer pending" any more) and shifted traffic only afterwards.
    expect(at('promoted aurora')).toBeGreaterThanOrEqual(TIMINGS.auroraFailover.ms / 1000);
    expect(at('traffic shifted')).toBeGreaterThan(at('promoted aurora') ?? Infinity);
    // Writes are accepted in the target well inside the 150 s goal once started (detection adds
    // its own ≤ 45 s before the start).
    expect((world.now() - start) / 1000).toBeLessThan(105);
    expect(
      r.events.filter((e) => e.state === 'Promote Aurora' && e.type === 'retried').length,
    ).toBeGreaterThan(0);
  });

  test('promotion slower than the lease: each wait renews it, so no second execution can take over', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    let intruder: DrillResult | undefined;
    const r = await drill('eu-central-1', 'eu-west-1', 'slow-promotion', {
      // While the promotion is in flight, a second execution starts and tries to take the lock.
      'Promote cache': async () => {
        intruder ??= await drill('eu-central-1', 'eu-west-1', 'intruder');
      },
    });
    expect(r.output).toMatchObject({ outcome: 'failed over' });
    expect(intruder?.output).toMatchObject({ outcome: 'lock held by another execution' });
    expect(world.calls.filter((c) => c.startsWith('rds:Failover'))).toHaveLength(1);
  });

  test('stale execution resumes after another completed: its rollback is refused and changes nothing', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const atRollback = gate();
    const resume = gate();
    // A fails after promotion (its target looks unhealthy), and stalls on its way to roll back.
    const a = drill('eu-central-1', 'eu-west-1', 'exec-stale', {
      'Verify target': async () => {
        world.region('eu-central-1').up = false;
      },
      'Roll back': async () => {
        atRollback.open();
        await resume.opened;
      },
    });
    await atRollback.opened;
    // The target recovers; A's lease runs out; B fails the cell over for real.
    world.region('eu-central-1').up = true;
    world.advance(901_000);
    const b = await drill('eu-central-1', 'eu-west-1', 'exec-fresh');
    expect(b.output).toMatchObject({ outcome: 'failed over' });
    const callsBefore = [...world.calls];
    resume.open();
    const stale = await a;
    expect(stale.status).toBe('FAILED');
    expect(stale.error).toMatch(/rollback: refused, fencing token \d+ of exec-stale/);
    // Rollback never re-routes to the region B failed away from, nor re-enables its pool.
    expect(world.calls).toEqual(callsBefore);
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
    expect(world.pools.get('pool-eu-west-1')?.enabled).toBe(false);
  });

  test('partition between the pair, both alive: a third watcher sees both up, nobody fails over', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    // eu-west-1 (writer) is cut off from eu-central-1 only: both reach the lock's witness,
    // eu-west-2, so the writer keeps its lease; us-east-1 watches both and reaches both.
    world.partition(['eu-west-1'], ['eu-central-1']);
    world.region('eu-west-1').alarms = ['meridian-prod-eu-west-1-critical-endpoint'];
    world.region('eu-central-1').alarms = ['meridian-prod-eu-central-1-critical-endpoint'];
    expect(world.untilWatchersSeeDown('eu-west-1', 6)).toBeUndefined();
    const [west, central] = await Promise.all([
      drill('eu-west-1', 'eu-central-1', 'from-west'),
      drill('eu-central-1', 'eu-west-1', 'from-central'),
    ]);
    expect(central.output).toMatchObject({ outcome: 'no action' });
    expect(west.output).toMatchObject({ outcome: 'no action' });
    expect(String(JSON.stringify(central.output))).toContain('1 of 2 watchers see it down');
    expect(world.calls.filter((c) => c.startsWith('rds:'))).toEqual([]);
    expect(world.splitBrain).toBe(0);
  });

  test('the writer cut off from the lock majority fences itself; the side with the lock takes over after its lease', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    // eu-west-1 (writer) is cut off from eu-central-1 and from the lock's witness, eu-west-2: it
    // cannot renew its lease, so it fences itself, and its endpoint answers 503 "writer-fence"
    // to us-east-1, which reaches it: its watchers' majority is right, it takes no writes.
    world.partition(['eu-west-1'], ['eu-central-1', 'eu-west-2']);
    world.region('eu-west-1').alarms = ['meridian-prod-eu-west-1-critical-endpoint'];
    expect(world.untilWatchersSeeDown('eu-west-1')).toBeDefined();
    expect(world.signedFenced.has('eu-west-1')).toBe(true);
    expect(world.dbFenced.has('eu-west-1')).toBe(true);
    expect(world.acceptingWrites()).toEqual([]);
    const central = await drill('eu-central-1', 'eu-west-1', 'from-central');
    expect(central.output).toMatchObject({ outcome: 'failed over' });
    world.advance(WRITER_LEASE.renewSeconds * 1000);
    expect(world.acceptingWrites()).toEqual(['eu-central-1']);
    expect(world.splitBrain).toBe(0);
  });

  test('the writer cut off from both its watchers: they fail it over; it cannot act', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.partition(['eu-west-1'], ['eu-central-1', 'eu-west-2', 'us-east-1']);
    world.region('eu-west-1').alarms = ['meridian-prod-eu-west-1-critical-endpoint'];
    world.region('eu-central-1').alarms = ['meridian-prod-eu-central-1-critical-endpoint'];
    expect(world.untilWatchersSeeDown('eu-west-1')).toBeDefined();
    const [west, central] = await Promise.all([
      drill('eu-west-1', 'eu-central-1', 'from-west'),
      drill('eu-central-1', 'eu-west-1', 'from-central'),
    ]);
    expect(central.output).toMatchObject({ outcome: 'failed over' });
    expect(west.output).toMatchObject({ outcome: 'no action' });
    expect(entered(west, 'Fence old region')).toBe(false);
    expect(world.calls.filter((c) => c.startsWith('rds:'))).toEqual([
      'rds:FailoverGlobalCluster AllowDataLoss=true → eu-central-1',
    ]);
    expect(world.splitBrain).toBe(0);
  });

  test('rollback after the writer moved never unfences the old writer, alive but cut off: no split-brain', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    // eu-west-1 (writer) cannot reach eu-central-1 nor us-east-1 (its watchers: they see it
    // down); both eu regions still reach the witness.
    world.partition(['eu-west-1'], ['eu-central-1', 'us-east-1']);
    world.region('eu-west-1').alarms = ['meridian-prod-eu-west-1-critical-endpoint'];
    world.untilWatchersSeeDown('eu-west-1');
    const r = await drill('eu-central-1', 'eu-west-1', 'rollback-after-move', {
      'Verify target': async () => {
        world.region('eu-central-1').up = false;
      },
      'Roll back': async () => {
        world.region('eu-central-1').up = true;
      },
    });
    expect(r.status).toBe('FAILED');
    expect(world.writer).toBe('eu-central-1');
    expect(world.acceptingWrites()).toEqual(['eu-central-1']);
    expect(world.splitBrain).toBe(0);
  });

  test('the old writer cut off in the minority cannot read its region state: it stands down', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.partition(['eu-west-1'], ['eu-central-1', 'eu-west-2']);
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { drillContext } = await import('../../lib/failover/drill/context');
    const write = (from: string) =>
      drillContext.run({ region: from }, () =>
        setRegionState(
          new DynamoDBClient({ region: from }),
          'meridian-prod-eu-runbook-lock',
          'eu-west-1',
          'fenced',
          1,
          world.now(),
        ),
      );
    await expect(write('eu-central-1')).resolves.toBeUndefined();
    // Sync and applications read the state with a strong read: no majority, no answer, no writes.
    await expect(write('eu-west-1')).rejects.toThrow(/majority/);
  });

  test('secrets: the token secret the template defines answers; any other id is unknown, as in AWS', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    const { GetSecretValueCommand, SecretsManagerClient } = await import(
      '@aws-sdk/client-secrets-manager'
    );
    const sm = new SecretsManagerClient({ region: 'eu-central-1' });
    const get = async (SecretId: string) => sm.send(new GetSecretValueCommand({ SecretId }));
    await expect(get(world.config.cloudflare.tokenSecretArn)).resolves.toHaveProperty(
      'SecretString',
    );
    await expect(get(`${world.config.cloudflare.tokenSecretArn}-other`)).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  test('region state moves forward in token order: an older token cannot overwrite a newer one', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    const { DynamoDBClient } = await import('@aws-sdk/client-dynamodb');
    const { drillContext } = await import('../../lib/failover/drill/context');
    const write = (state: 'fenced' | 'active', token: number) =>
      drillContext.run({ region: 'eu-central-1' }, () =>
        setRegionState(
          new DynamoDBClient({ region: 'eu-central-1' }),
          'meridian-prod-eu-runbook-lock',
          'eu-west-1',
          state,
          token,
          world.now(),
        ),
      );
    await write('fenced', 2);
    await expect(write('active', 1)).rejects.toThrow(
      /region state of eu-west-1: refused, fencing token 1 is older/,
    );
    await expect(write('active', 2)).resolves.toBeUndefined();
    await expect(write('fenced', 3)).resolves.toBeUndefined();
  });

  test('stale execution paused before Record: no second report, no second "completed"', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const atRecord = gate();
    const resume = gate();
    // A fails the cell over and stalls just before writing its report, past its lease.
    const a = drill('eu-central-1', 'eu-west-1', 'exec-stale', {
      'Record event': async () => {
        atRecord.open();
        await resume.opened;
      },
    });
    await atRecord.opened;
    world.advance((world.config.leaseSeconds + 1) * 1000);
    // B takes the lock (A's lease ran out) and finishes: one report, one "completed".
    const b = await drill('eu-central-1', 'eu-west-1', 'exec-fresh');
    expect(b.output).toMatchObject({ outcome: 'failed over' });
    resume.open();
    const stale = await a;
    expect(stale.status).toBe('FAILED');
    expect(stale.error).toMatch(/record: refused, fencing token \d+ of exec-stale/);
    expect(entered(stale, 'Notify done')).toBe(false);
    // B's report and B's "completed" only.
    expect([...world.objects.keys()].filter((k) => k.includes('/failover/'))).toEqual([
      expect.stringMatching(/\/exec-fresh\.json$/),
    ]);
    expect(world.notifications.filter((n) => n.subject === 'Notify done')).toHaveLength(1);
    // Counted by the world from the lock item at each change: nothing acted without the token.
    expect(world.actionsWithoutToken).toBe(0);
  });
});

describe('throttling', () => {
  test('Route 53 throttles the record change ("Throttling"): Shift traffic retries and moves the records', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    let stormed = false;
    const r = await drill('eu-central-1', 'eu-west-1', 'throttled-shift', {
      // Before the first attempt only (the hook runs before each).
      'Shift traffic': async () => {
        if (!stormed) world.storm('route53', 'us-east-1', world.now() + 3000);
        stormed = true;
      },
    });
    expect(r.output).toMatchObject({ outcome: 'failed over' });
    expect(world.throttled).toBeGreaterThan(0);
    expect(r.events.filter((e) => e.state === 'Shift traffic' && e.type === 'retried')).not.toEqual(
      [],
    );
    expect(world.calls.filter((c) => c.startsWith('route53:UPSERT'))).not.toEqual([]);
  });
});

describe('clients, as Route 53 routes them', () => {
  test('health checks pull the failed region after interval × threshold, at the next TTL; a record change only once propagated', async () => {
    const rb = runbook('eu-west-1');
    expect(rb.healthCheck).toEqual({ intervalSeconds: 10, failureThreshold: 3 });
    world = new DrillWorld(runbook('eu-central-1').config, {
      routing: rb.healthCheck as never,
    });
    const start = world.now();
    const ttl = world.config.ttlSeconds * 1000;
    expect(world.clientRegion('eu-west-1', start)).toBe('eu-west-1');
    world.fail('eu-west-1');
    world.advance(1);
    // The checkers judge it failed 30 s later; clients see it at the first resolution after that.
    const judged = start + 30_000;
    const moved = start + Math.ceil((judged - start) / ttl) * ttl;
    world.advance(moved - 1 - world.now());
    expect(world.clientRegion('eu-west-1', world.now())).toBe('eu-west-1');
    world.advance(1);
    expect(world.clientRegion('eu-west-1', world.now())).toBe('eu-central-1');
    // eu-west-1 answers again; a record change sends its clients elsewhere only after propagation.
    world.recover('eu-west-1');
    world.advance(ttl);
    expect(world.clientRegion('eu-west-1', world.now())).toBe('eu-west-1');
    const { Route53Client, ChangeResourceRecordSetsCommand } = await import(
      '@aws-sdk/client-route-53'
    );
    await new Route53Client({ region: 'us-east-1' }).send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: 'Z1',
        ChangeBatch: {
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: `eu.${world.config.zoneName}.`,
                Type: 'CNAME',
                SetIdentifier: 'eu-west-1',
                Region: 'eu-west-1',
                TTL: world.config.ttlSeconds,
                ResourceRecords: [{ Value: `eu-central-1.${world.config.zoneName}` }],
              },
            },
          ],
        },
      }),
    );
    const changed = world.now();
    world.advance(TIMINGS.route53Propagation.ms - 1);
    expect(world.clientRegion('eu-west-1', changed + TIMINGS.route53Propagation.ms - 1)).toBe(
      'eu-west-1',
    );
    world.advance(ttl + 1);
    expect(world.clientRegion('eu-west-1', world.now())).toBe('eu-central-1');
  });
});
