import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import type { Db } from '../../lambda/shared/sync/db';
import {
  claim,
  outboxCounts,
  purgeSent,
  settle,
  unpark,
  writeChange,
  writeChanges,
} from '../../lambda/shared/sync/outbox-store';
import { readReplica, recordChanges } from '../../lambda/shared/sync/replica-store';
import { openTestDb, type TestDb } from '../support/db';

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

  test('a transfer that rests on consent carries only the records whose subject consented', async () => {
    // apac → us rests on consent (jurisdictions.apac.transfers.us.basis: consent).
    const base = {
      dataClass: 'pii',
      entityType: 'customer',
      homeRegion: 'ap-southeast-1',
      originRegion: 'ap-southeast-1',
      hlc: { wall: T, logical: 0 },
      payload: { customerId: 'C-9', email: 'grace@example.com', country: 'SG' },
    };
    await writeChanges(ap.t.db, [
      change({ ...base, seed: 'consent-yes', entityKey: 'sg-yes', consent: true }),
      change({ ...base, seed: 'consent-no', entityKey: 'sg-no' }),
    ]);
    const report = await ap.dispatch();
    expect(report).toMatchObject({ claimed: 2, done: 2, parked: 0, sent: { 'us-east-1': 1 } });
    expect(
      report.withheld[
        "pii leaves apac for us only with the subject's consent (jurisdictions.apac.transfers.us.basis: consent) and the record carries none"
      ],
    ).toBe(1);
    await drainAll(us, sqs);
    expect((await readReplica(us.t.db, 'customer', 'sg-yes'))?.payload).toMatchObject({
      country: 'SG',
      email: expect.stringMatching(/^pz_/),
    });
    expect(await readReplica(us.t.db, 'customer', 'sg-no')).toBeUndefined();
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

/** The outbox's own contract, row by row: what is claimed, when, and what settling leaves. */
describe('outbox on Postgres', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await openTestDb();
  });
  afterAll(() => t.close());
  beforeEach(() => t.db.exec('TRUNCATE meridian_outbox'));

  const at = (seed: string, wall: number, logical = 0) =>
    change({ seed, entityKey: seed, hlc: { wall, logical }, homeRegion: 'us-east-1' });
  const rows = async () =>
    (
      await t.db.query<Record<string, unknown>>(
        `SELECT event_id, status, attempts, pending_targets, last_error, claimed_by, claimed_until,
                next_attempt_at <= now() AS due,
                (extract(epoch FROM next_attempt_at) * 1000)::float8 AS due_at
           FROM meridian_outbox ORDER BY hlc_wall, hlc_logical`,
      )
    ).rows;
  /** Claims every due row for `worker`; their event ids in HLC order. */
  const claimIds = async (worker: string) =>
    (await claim(t.db, worker, 10, 60)).map((r) => r.event.eventId) as [
      string,
      string,
      string,
      string,
    ];

  test('writeChange keeps every field of the event; a claim gives it back as it was written', async () => {
    const e = change({
      seed: 'w1',
      entityType: 'order',
      entityKey: 'o-1',
      dataClass: 'pii',
      homeRegion: 'eu-west-1',
      originRegion: 'eu-central-1',
      hlc: { wall: T, logical: 7 },
      op: 'delete',
      payload: { address: { city: 'Cork' } },
    });
    await writeChange(t.db, e);
    expect(await outboxCounts(t.db)).toEqual({ pending: 1 });
    expect(await claim(t.db, 'w', 10, 60)).toEqual([
      { event: e, attempts: 0, pendingTargets: null },
    ]);
  });

  test('a claim takes the oldest due rows up to its limit and returns them in HLC order', async () => {
    // Written newest first, so the table's order is not the HLC order.
    await writeChanges(t.db, [at('d', T + 2), at('c', T + 1, 5), at('b', T + 1, 3), at('a', T, 9)]);
    const keys = async (worker: string) =>
      (await claim(t.db, worker, 3, 60)).map((r) => r.event.entityKey);
    expect(await keys('w1')).toEqual(['a', 'b', 'c']);
    // Held rows are not claimed again while their lease runs.
    expect(await keys('w2')).toEqual(['d']);
    expect(await keys('w3')).toEqual([]);
  });

  test('purgeSent drops sent-log rows past the replay window and nothing still owed', async () => {
    await writeChanges(t.db, [at('p1', T + 1), at('p2', T + 2), at('p3', T + 3)]);
    const [p1, p2, p3] = await claimIds('w1');
    await settle(t.db, 'w1', [
      { eventId: p1, status: 'done', pendingTargets: [] },
      { eventId: p2, status: 'done', pendingTargets: [] },
      { eventId: p3, status: 'parked', pendingTargets: ['eu-west-1'], error: 'gave up' },
    ]);
    const sent = async () =>
      (
        await t.db.query<{ event_id: string }>(
          'SELECT event_id FROM meridian_outbox_sent ORDER BY hlc_wall',
        )
      ).rows.map((r) => r.event_id);
    expect(await sent()).toEqual([p1, p2]);
    expect(await purgeSent(t.db, 300)).toBe(0);
    // p1 was sent an hour ago, p3 (parked, still owed) was created then: only p1 goes.
    await t.db.query(
      "UPDATE meridian_outbox_sent SET sent_at = sent_at - interval '1 hour' WHERE event_id = $1",
      [p1],
    );
    await t.db.query(
      "UPDATE meridian_outbox SET created_at = created_at - interval '1 hour' WHERE event_id = $1",
      [p3],
    );
    expect(await purgeSent(t.db, 300)).toBe(1);
    expect(await sent()).toEqual([p2]);
    expect((await rows()).map((r) => [r.event_id, r.status])).toEqual([[p3, 'parked']]);
  });

  test('unpark of no ids asks the database nothing', async () => {
    const db: Db = {
      query: () => Promise.reject(new Error('no query expected')),
      exec: () => Promise.reject(new Error('no statement expected')),
    };
    expect(await unpark(db, [])).toEqual([]);
  });

  test('settle: delivered rows leave; the others keep what is owed, when to retry and why', async () => {
    await writeChanges(t.db, [at('s1', T + 1), at('s2', T + 2), at('s3', T + 3), at('s4', T + 4)]);
    const [s1, s2, s3, s4] = await claimIds('w1');
    const later = new Date(Date.now() + 3_600_000);
    expect(await settle(t.db, 'w1', [])).toBe(0);
    // Only the worker holding the rows can settle them.
    expect(await settle(t.db, 'w2', [{ eventId: s1, status: 'done', pendingTargets: [] }])).toBe(0);
    expect(
      await settle(t.db, 'w1', [
        { eventId: s1, status: 'done', pendingTargets: [] },
        {
          eventId: s2,
          status: 'pending',
          pendingTargets: ['ap-southeast-1'],
          nextAttemptAt: later,
          error: 'ap-southeast-1: timeout',
        },
        {
          eventId: s3,
          status: 'parked',
          pendingTargets: ['eu-west-1'],
          error: 'gave up',
        },
        { eventId: s4, status: 'pending', pendingTargets: ['eu-west-1'] },
      ]),
    ).toBe(4);
    const [r2, r3, r4] = await rows();
    const released = { attempts: 1, claimed_by: null, claimed_until: null };
    expect(r2).toMatchObject({
      event_id: s2,
      status: 'pending',
      pending_targets: ['ap-southeast-1'],
      last_error: 'ap-southeast-1: timeout',
      due: false,
      due_at: later.getTime(),
      ...released,
    });
    expect(r3).toMatchObject({
      event_id: s3,
      status: 'parked',
      last_error: 'gave up',
      ...released,
    });
    // No next attempt given: due as it was (now), and no error.
    expect(r4).toMatchObject({ event_id: s4, status: 'pending', last_error: null, due: true });
    expect(r4).toMatchObject(released);
    expect(await outboxCounts(t.db)).toEqual({ pending: 2, parked: 1 });
    // The row due now is claimed again, with its attempt and the targets it still owes.
    expect(await claim(t.db, 'w3', 10, 60)).toEqual([
      {
        event: expect.objectContaining({ eventId: s4 }),
        attempts: 1,
        pendingTargets: ['eu-west-1'],
      },
    ]);
  });

  test('unpark: a parked row is due again with a fresh attempt budget; any other row is left alone', async () => {
    await writeChanges(t.db, [at('u1', T + 1), at('u2', T + 2)]);
    const [u1, u2] = await claimIds('w1');
    const later = new Date(Date.now() + 3_600_000);
    await settle(t.db, 'w1', [
      { eventId: u1, status: 'parked', pendingTargets: ['eu-west-1'], error: 'gave up' },
      {
        eventId: u2,
        status: 'pending',
        pendingTargets: ['eu-west-1'],
        nextAttemptAt: later,
      },
    ]);
    expect(await unpark(t.db, [u1, u2, uuid('unknown')])).toEqual([u1]);
    expect(await unpark(t.db, [u1])).toEqual([]);
    const [r1, r2] = await rows();
    expect(r1).toMatchObject({
      status: 'pending',
      attempts: 0,
      last_error: null,
      pending_targets: ['eu-west-1'],
      due: true,
    });
    expect(r2).toMatchObject({
      status: 'pending',
      attempts: 1,
      due: false,
      due_at: later.getTime(),
    });
    expect((await claim(t.db, 'w2', 10, 60)).map((r) => r.event.eventId)).toEqual([u1]);
  });
});
