import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { claim, outboxCounts, settle, writeChanges } from '../../lambda/shared/sync/outbox-store';
import { readReplica, recordChanges } from '../../lambda/shared/sync/replica-store';
import { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change, uuid } from './events';
import { deadLetterUrl, drainAll, openRegion, openWorld, type Region, type World } from './harness';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const T = Date.now();
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';

describe('sync pipeline: us-east-1 → eu-west-1 and ap-southeast-1 (Postgres + SQS fake)', () => {
  let world: World;
  let sqs: FakeSqs;
  let us: Region;
  let eu: Region;
  let ap: Region;
  beforeAll(async () => {
    world = await openWorld(index);
    ({ sqs, us, eu, ap } = world);
  });
  afterAll(() => world.close());

  test('each record reaches exactly the regions the plan allows, masked where it says', async () => {
    const base = {
      homeRegion: 'us-east-1',
      originRegion: 'us-east-1',
      hlc: { wall: T, logical: 0 },
    };
    await writeChanges(us.t.db, [
      change({
        ...base,
        seed: 'p1',
        dataClass: 'public',
        entityType: 'product',
        entityKey: 'sku-1',
        payload: { title: 'Lamp' },
      }),
      change({
        ...base,
        seed: 'c1',
        dataClass: 'pii',
        entityType: 'customer',
        entityKey: 'c-1',
        payload: {
          customerId: 'C-1',
          name: 'Ada Lovelace',
          email: 'ada@example.com',
          country: 'US',
          address: { city: 'Austin', street: '1 Main' },
        },
      }),
      change({
        ...base,
        seed: 'h1',
        dataClass: 'phi',
        entityType: 'chart',
        entityKey: 'x-1',
        payload: { diagnosis: 'J45' },
      }),
    ]);

    const report = await us.dispatch();
    expect(report).toMatchObject({
      claimed: 3,
      done: 3,
      parked: 0,
      sent: { 'eu-west-1': 1, 'ap-southeast-1': 2 },
      masked: 1,
    });
    // pii → eu and phi → both: withheld, with the plan's reasons.
    expect(Object.values(report.withheld).reduce((a, b) => a + b, 0)).toBe(3);
    expect(await outboxCounts(us.t.db)).toEqual({});

    await drainAll(eu, sqs);
    await drainAll(ap, sqs);
    expect(await readReplica(eu.t.db, 'product', 'sku-1')).toMatchObject({
      payload: { title: 'Lamp' },
    });
    expect(await readReplica(eu.t.db, 'customer', 'c-1')).toBeUndefined();
    expect(await readReplica(eu.t.db, 'chart', 'x-1')).toBeUndefined();
    expect(await readReplica(ap.t.db, 'chart', 'x-1')).toBeUndefined();

    const masked = await readReplica(ap.t.db, 'customer', 'c-1');
    expect(masked?.payload).toEqual({
      customerId: expect.stringMatching(/^pz_/),
      email: expect.stringMatching(/^pz_/),
      country: 'US',
      // apac keeps the city by its own rule; the street is erased.
      address: { city: 'Austin' },
    });
    expect(JSON.stringify(masked)).not.toMatch(/Ada|ada@example.com|1 Main/);
    expect(ap.invalidated).toEqual(expect.arrayContaining(['product:sku-1', 'customer:c-1']));
  });

  test('a later write from another region wins everywhere, the loser is kept in history', async () => {
    const write = (r: Region, seed: string, wall: number, title: string) =>
      recordChanges(
        r.t.db,
        [
          change({
            seed,
            dataClass: 'public',
            entityType: 'product',
            entityKey: 'sku-2',
            homeRegion: r.id,
            originRegion: r.id,
            hlc: { wall, logical: 0 },
            payload: { title },
          }),
        ],
        strategyOf,
      );
    await write(us, 'us-2', T + 10, 'from us');
    await write(eu, 'eu-2', T + 20, 'from eu');
    await us.dispatch();
    await eu.dispatch();
    await drainAll(eu, sqs);
    await drainAll(us, sqs);
    for (const r of [us, eu])
      expect((await readReplica(r.t.db, 'product', 'sku-2'))?.payload).toEqual({
        title: 'from eu',
      });
    const history = await us.t.db.query<{ payload: unknown }>(
      "SELECT payload FROM meridian_replica_history WHERE entity_key = 'sku-2'",
    );
    expect(history.rows.map((r) => r.payload)).toEqual([{ title: 'from us' }]);
  });

  test('two concurrent dispatch workers never claim the same row', async () => {
    await writeChanges(
      us.t.db,
      Array.from({ length: 600 }, (_, i) =>
        change({
          seed: `bulk-${i}`,
          entityKey: `k-${i}`,
          homeRegion: 'us-east-1',
          originRegion: 'us-east-1',
        }),
      ),
    );
    const other = await us.t.connect();
    const [a, b] = await Promise.all([
      claim(us.t.db, 'worker-a', 400, 60),
      claim(other, 'worker-b', 400, 60),
    ]);
    const ids = [...a, ...b].map((r) => r.event.eventId);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.length).toBe(600);
    expect(Math.min(a.length, b.length)).toBeGreaterThanOrEqual(200);
    // Nothing more to claim while the leases hold.
    expect(await claim(us.t.db, 'worker-c', 400, 60)).toEqual([]);
    // A worker whose lease was taken over cannot settle rows it no longer holds.
    await us.t.db.query(
      "UPDATE meridian_outbox SET claimed_until = now() - interval '1 second' WHERE claimed_by = 'worker-a'",
    );
    const retaken = await claim(us.t.db, 'worker-c', 1000, 60);
    expect(retaken).toHaveLength(a.length);
    const first = a[0]?.event.eventId ?? uuid('none');
    expect(
      await settle(us.t.db, 'worker-a', [{ eventId: first, status: 'done', pendingTargets: [] }]),
    ).toBe(0);
    expect(
      await settle(us.t.db, 'worker-c', [{ eventId: first, status: 'done', pendingTargets: [] }]),
    ).toBe(1);
  });

  test('nothing was parked along the way', () => {
    expect(sqs.queue(deadLetterUrl('us-east-1'))).toEqual([]);
    expect(sqs.queue(deadLetterUrl('eu-west-1'))).toEqual([]);
  });
});

describe('a region fenced by the failover runbook stands down', () => {
  test('its dispatch claims nothing; its apply applies nothing and parks with the reason', async () => {
    const sqs = new FakeSqs();
    let fenced = true;
    const isFenced = async () => fenced;
    // Closed in `finally`: a failing assertion must not leave its connections open (a Stryker run
    // keeps one process for every mutant, and a server has 100 connections).
    const opened: Region[] = [];
    try {
      const us = await openRegion('us-east-1', index, sqs, ['eu-west-1'], {
        fenced: isFenced,
      });
      opened.push(us);
      const eu = await openRegion('eu-west-1', index, sqs, ['us-east-1'], {
        fenced: isFenced,
        maxAttempts: 2,
      });
      opened.push(eu);
      await recordChanges(
        us.t.db,
        [
          change({
            seed: 'f1',
            homeRegion: 'us-east-1',
            originRegion: 'us-east-1',
            entityKey: 'fenced-1',
          }),
        ],
        strategyOf,
      );
      expect(await us.dispatch()).toMatchObject({ fenced: true, claimed: 0 });
      fenced = false;
      expect(await us.dispatch()).toMatchObject({ claimed: 1, done: 1 });
      fenced = true;
      const first = await eu.drain();
      expect(first).toMatchObject({
        failedMessageIds: [expect.any(String)],
        error: 'eu-west-1 is fenced by the failover runbook: not applying',
      });
      const second = await eu.drain();
      expect(second.parked).toEqual([
        {
          messageId: expect.any(String),
          reason: 'eu-west-1 is fenced by the failover runbook: not applying',
        },
      ]);
      expect(await readReplica(eu.t.db, 'customer', 'fenced-1')).toBeUndefined();
    } finally {
      sqs.restore();
      await Promise.all(opened.map((r) => r.t.close()));
    }
  });
});
