import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import {
  type ApplyDeps,
  type ApplyReport,
  applyAudit,
  applyMessages,
  residencyFault,
} from '../../lambda/shared/sync/apply';
import type { ParkedRecord } from '../../lambda/shared/sync/dispatch';
import type { ChangeEvent, SyncMessage } from '../../lambda/shared/sync/events';
import { outboxCounts } from '../../lambda/shared/sync/outbox-store';
import { readReplica, recordChanges } from '../../lambda/shared/sync/replica-store';
import { openTestDb, type TestDb } from '../support/db';
import type { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change, uuid } from './events';
import { leaks } from './evidence';
import { deadLetterUrl, drainAll, inboundUrl, openWorld, type Region, type World } from './harness';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';
const T = Date.now();

/**
 * One run through every fault the issue names, then a count: every record is either applied
 * exactly once in each region it may reach, or parked in a dead-letter queue with its reason.
 */
describe('faults: nothing lost, nothing applied twice', () => {
  let world: World;
  let sqs: FakeSqs;
  let us: Region;
  let eu: Region;
  let ap: Region;
  const reports: Record<string, ApplyReport[]> = { eu: [], ap: [] };
  const publicEvents = Array.from({ length: 50 }, (_, i) =>
    change({
      seed: `pub-${i}`,
      dataClass: 'public',
      entityType: 'product',
      entityKey: `sku-${i}`,
      homeRegion: 'us-east-1',
      originRegion: 'us-east-1',
      hlc: { wall: T + i, logical: 0 },
      payload: { title: `item ${i}` },
    }),
  );
  const stuck = change({
    seed: 'stuck',
    dataClass: 'public',
    entityType: 'product',
    entityKey: 'sku-stuck',
    homeRegion: 'us-east-1',
    originRegion: 'us-east-1',
    hlc: { wall: T + 100, logical: 0 },
    payload: { title: 'never delivered to ap' },
  });

  beforeAll(async () => {
    world = await openWorld(index);
    ({ sqs, us, eu, ap } = world);
  });
  afterAll(() => world.close());

  test('a target region unavailable mid-batch: the others get everything, it is owed the rest', async () => {
    await recordChanges(us.t.db, publicEvents, strategyOf);
    sqs.down.add('ap-southeast-1');
    const run = await us.dispatch();
    expect(run).toMatchObject({ claimed: 50, done: 0, retrying: 50, sent: { 'eu-west-1': 50 } });
    expect(run.failures['ap-southeast-1']).toMatch(/ETIMEDOUT/);
    const owed = await us.t.db.query<{ pending_targets: string[] }>(
      'SELECT DISTINCT pending_targets FROM meridian_outbox',
    );
    expect(owed.rows).toEqual([{ pending_targets: ['ap-southeast-1'] }]);
  });

  test('a malformed record and a poison message go to the dead-letter queue with their reasons', async () => {
    sqs.inject(inboundUrl('eu-west-1'), '{"v":1,"event":{"eventId":"nope"}}');
    const poison: SyncMessage = {
      v: 1,
      mode: 'full',
      maskedFields: [],
      sourceRegion: 'us-east-1',
      event: change({
        seed: 'poison',
        dataClass: 'public',
        homeRegion: 'us-east-1',
        originRegion: 'us-east-1',
        entityType: 'product',
        entityKey: 'sku-poison',
        // Postgres jsonb refuses the NUL character: this message can never be applied.
        payload: { title: 'bad\u0000byte' },
      }),
    };
    sqs.inject(inboundUrl('eu-west-1'), JSON.stringify(poison), 'product:sku-poison');
  });

  test('a crash after apply but before acknowledge: the redelivery changes nothing', async () => {
    const crashed = await eu.drain({ crash: true });
    expect(crashed.stats?.fresh).toBe(10);
    reports.eu?.push(crashed);
    reports.eu?.push(...(await drainAll(eu, sqs)));
    const all = reports.eu ?? [];
    expect(all.reduce((n, r) => n + (r.stats?.duplicates ?? 0), 0)).toBe(10);
  });

  test('the target comes back: what it was owed arrives; one record that never gets through is parked', async () => {
    sqs.down.delete('ap-southeast-1');
    await us.dispatch();
    reports.ap?.push(...(await drainAll(ap, sqs)));
    await recordChanges(us.t.db, [stuck], strategyOf);
    sqs.down.add('ap-southeast-1');
    for (let i = 0; i < 3; i++) await us.dispatch();
    // Delivered rows leave the outbox; the undeliverable one stays, parked.
    expect(await outboxCounts(us.t.db)).toEqual({ parked: 1 });
    const parked = sqs.queue(deadLetterUrl('us-east-1'));
    expect(parked).toHaveLength(1);
    expect(parked[0]?.attributes.reason).toMatch(
      /^gave up after 3 attempt\(s\): ap-southeast-1: connect ETIMEDOUT .*\(targets ap-southeast-1\)$/,
    );
    sqs.down.delete('ap-southeast-1');
    reports.eu?.push(...(await drainAll(eu, sqs)));
  });

  test('the count: every record applied exactly once where it may go, or parked with its reason', async () => {
    const fresh = (rs: ApplyReport[] = []) => rs.reduce((n, r) => n + (r.stats?.fresh ?? 0), 0);
    // What each replica holds, by event id: one row per record, and no version in history (a
    // second application of the same event would have left a copy there or failed the guard).
    const held = async (r: Region) => ({
      rows: (await r.t.db.query<{ event_id: string }>('SELECT event_id FROM meridian_replica')).rows
        .map((x) => x.event_id)
        .sort(),
      history: (await r.t.db.query('SELECT 1 FROM meridian_replica_history')).rows.length,
    });
    const ids = (es: { eventId: string }[]) => es.map((e) => e.eventId).sort();
    // eu: 50 public records and the stuck one, each applied once; the redelivered 10 were not.
    expect(fresh(reports.eu)).toBe(51);
    expect(await held(eu)).toEqual({ rows: ids([...publicEvents, stuck]), history: 0 });
    // ap: the 50 it was owed; the stuck one is parked at the source.
    expect(fresh(reports.ap)).toBe(50);
    expect(await held(ap)).toEqual({ rows: ids(publicEvents), history: 0 });

    const euDead = sqs.queue(deadLetterUrl('eu-west-1')).map((m) => m.attributes.reason);
    expect(euDead).toHaveLength(2);
    expect(euDead).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^malformed: mode: expected full or masked/),
        // The SQLSTATE of "unsupported Unicode escape sequence", never the message (it can quote).
        'apply failed 3 time(s): SQLSTATE 22P05',
      ]),
    );
    // Nothing is left in flight anywhere.
    for (const r of ['us-east-1', 'eu-west-1', 'ap-southeast-1'])
      expect(sqs.queue(inboundUrl(r))).toEqual([]);
    // 51 records × 2 targets = 102 deliveries: 51 + 50 applied once, 1 parked at the source;
    // and the 2 injected messages parked at eu.
    const parkedAtSource = sqs.queue(deadLetterUrl('us-east-1')).length;
    expect(fresh(reports.eu) + fresh(reports.ap) + parkedAtSource).toBe(102);
    // No record value in an apply audit object or a park reason of the suite (issue 17 item 4).
    const evidence = [
      ...[...(reports.eu ?? []), ...(reports.ap ?? [])].map(applyAudit),
      ...[...sqs.queues.values()].flatMap((q) => q.map((m) => m.attributes.reason ?? '')),
    ];
    expect(leaks(evidence, [...publicEvents, stuck])).toEqual([]);
  });
});

/**
 * One apply invocation at a time, without SQS: the residency re-check at the target, a batch in
 * which one event cannot be applied, and a dead-letter queue that is down.
 */
describe('apply faults, one invocation at a time (ap-southeast-1)', () => {
  const REGION = 'ap-southeast-1';
  let t: TestDb;
  const parked: ParkedRecord[] = [];
  const invalidated: string[] = [];
  let parkingDown = false;
  let deps: ApplyDeps;
  beforeAll(async () => {
    t = await openTestDb();
    deps = {
      db: t.db,
      index,
      region: REGION,
      maxAttempts: 3,
      parking: {
        park: async (records) => {
          if (parkingDown) throw new Error('dead-letter queue unavailable');
          parked.push(...records);
        },
      },
      invalidator: { invalidate: async (keys) => void invalidated.push(...keys) },
    };
  });
  afterAll(() => t.close());
  beforeEach(() => {
    parked.length = 0;
    invalidated.length = 0;
    parkingDown = false;
  });

  let n = 0;
  const message = (event: ChangeEvent, mode: SyncMessage['mode'] = 'full', receiveCount = 1) => ({
    messageId: `m-${++n}`,
    body: JSON.stringify({
      v: 1,
      event,
      mode,
      maskedFields: mode === 'masked' ? ['email'] : [],
      // Sent by its home cell (apply refuses a record from any other: the hostile-input tests).
      sourceRegion: event.homeRegion,
    } satisfies SyncMessage),
    receiveCount,
  });
  /** A record homed in us-east-1, written there unless `over` says otherwise. */
  const fromUs = (
    seed: string,
    dataClass: string,
    entityKey: string,
    over: Partial<ChangeEvent> = {},
  ) =>
    change({
      seed,
      dataClass,
      entityType: dataClass === 'public' ? 'product' : 'customer',
      entityKey,
      homeRegion: 'us-east-1',
      originRegion: 'us-east-1',
      hlc: { wall: T, logical: 0 },
      payload: { country: 'US' },
      ...over,
    });

  test('residencyFault: denied edges, and full records of a class that may only arrive masked', () => {
    expect(
      residencyFault(index, REGION, { event: fromUs('r1', 'public', 'r-1'), mode: 'full' }),
    ).toBe(undefined);
    // A masked copy of a class the plan sends in full is not a fault.
    expect(
      residencyFault(index, REGION, { event: fromUs('r2', 'public', 'r-2'), mode: 'masked' }),
    ).toBe(undefined);
    expect(
      residencyFault(index, REGION, { event: fromUs('r3', 'pii', 'r-3'), mode: 'masked' }),
    ).toBe(undefined);
    expect(residencyFault(index, REGION, { event: fromUs('r4', 'pii', 'r-4'), mode: 'full' })).toBe(
      'residency: pii may reach ap-southeast-1 only masked, got a full record',
    );
    expect(residencyFault(index, REGION, { event: fromUs('r5', 'phi', 'r-5'), mode: 'full' })).toBe(
      'residency: phi is jurisdiction-bound: us-east-1 (us) → ap-southeast-1 (apac) leaves the jurisdiction',
    );
  });

  test('what must not be here is parked with its reason, never applied; the rest applies', async () => {
    const pub = message(fromUs('a1', 'public', 'a-1'));
    const phi = message(fromUs('a2', 'phi', 'a-2'));
    const piiFull = message(fromUs('a3', 'pii', 'a-3'));
    const piiMasked = message(fromUs('a4', 'pii', 'a-4'), 'masked');
    const report = await applyMessages(deps, [pub, phi, piiFull, piiMasked], () => T + 5000);
    expect(report).toEqual({
      region: REGION,
      received: 4,
      failedMessageIds: [],
      stats: expect.objectContaining({ fresh: 2, touched: ['product:a-1', 'customer:a-4'] }),
      malformed: 0,
      rejected: 2,
      parked: [
        {
          messageId: phi.messageId,
          reason:
            'residency: phi is jurisdiction-bound: us-east-1 (us) → ap-southeast-1 (apac) leaves the jurisdiction',
        },
        {
          messageId: piiFull.messageId,
          reason: 'residency: pii may reach ap-southeast-1 only masked, got a full record',
        },
      ],
      // Lineage: each message's event, the plan's word here, and what became of it.
      records: [
        [pub, 'allowed', 'applied'],
        [phi, 'denied', 'parked'],
        [piiFull, 'denied', 'parked'],
        [piiMasked, 'allowed', 'applied'],
      ].map(([m, decision, outcome]) =>
        expect.objectContaining({
          eventId: JSON.parse((m as { body: string }).body).event.eventId,
          hops: [expect.objectContaining({ target: REGION, decision, outcome })],
        }),
      ),
      maxLagMs: 5000,
      // The public record is of a realtime class: the critical alarm's metric.
      maxRealtimeLagMs: 5000,
    });
    // Parked without an inbound envelope: a residency rejection is never redriven.
    expect(parked).toEqual([
      expect.objectContaining({ event: fromUs('a2', 'phi', 'a-2'), targets: [] }),
      expect.objectContaining({ event: fromUs('a3', 'pii', 'a-3'), targets: [] }),
    ]);
    expect(parked.map((p) => 'inbound' in p)).toEqual([false, false]);
    expect(invalidated).toEqual(['product:a-1', 'customer:a-4']);
    expect(await readReplica(t.db, 'product', 'a-1')).toBeDefined();
    expect(await readReplica(t.db, 'customer', 'a-4')).toBeDefined();
    expect(await readReplica(t.db, 'customer', 'a-2')).toBeUndefined();
    expect(await readReplica(t.db, 'customer', 'a-3')).toBeUndefined();
  });

  test('one event that cannot be applied does not hold back the others; the counts add up', async () => {
    // Stored first: versions the batch then meets (a conflict on each), and one it redelivers.
    const apac = (seed: string, origin: string, wall: number) =>
      change({
        seed,
        dataClass: 'sensitive',
        entityKey: 'b-s',
        homeRegion: REGION,
        originRegion: origin,
        hlc: { wall, logical: 0 },
        payload: { limit: wall - T },
      });
    const p0 = fromUs('b-p0', 'public', 'b-p');
    const g0 = fromUs('b-g0', 'public', 'b-g');
    await applyMessages(deps, [message(apac('b-s0', 'us-east-1', T)), message(p0), message(g0)]);
    invalidated.length = 0;
    const p1 = fromUs('b-p1', 'public', 'b-p', {
      originRegion: 'eu-west-1',
      hlc: { wall: T + 1, logical: 0 },
    });
    // Postgres jsonb refuses the NUL character: this event can never be applied.
    const poison = fromUs('b-x', 'public', 'b-x', { payload: { title: 'bad\u0000byte' } });
    const bad = message(poison);
    const report = await applyMessages(deps, [
      message(apac('b-s1', REGION, T + 1)),
      bad,
      message(p1),
      message(g0),
    ]);
    expect(report.failedMessageIds).toEqual([bad.messageId]);
    // The SQLSTATE (untranslatable character), never the message: it could quote the value.
    expect(report.error).toBe('SQLSTATE 22P05');
    expect(report.parked).toEqual([]);
    // sensitive is manual: both versions go to review, the older to history; p0 to history too.
    expect(report.stats).toEqual({
      fresh: 2,
      duplicates: 1,
      written: 2,
      conflicts: 2,
      superseded: 2,
      reviews: 2,
      erased: 0,
      touched: ['customer:b-s', 'product:b-p', 'product:b-g'],
      outcomes: {
        [uuid('b-s1')]: 'review',
        [p1.eventId]: 'applied',
        [g0.eventId]: 'duplicate',
      },
    });
    expect(invalidated).toEqual(['customer:b-s', 'product:b-p', 'product:b-g']);
    expect((await readReplica(t.db, 'product', 'b-p'))?.version.eventId).toBe(p1.eventId);

    // Its last attempt: parked with the error and its inbound envelope, so a redrive can rebuild it.
    const last = message(poison, 'full', 3);
    const final = await applyMessages(deps, [last]);
    expect(final).toMatchObject({
      failedMessageIds: [],
      parked: [
        { messageId: last.messageId, reason: expect.stringMatching(/^apply failed 3 time\(s\): /) },
      ],
    });
    expect(final.stats).toBeUndefined();
    expect(parked).toEqual([
      {
        messageId: last.messageId,
        event: poison,
        inbound: { mode: 'full', maskedFields: [], sourceRegion: 'us-east-1' },
        reason: final.parked[0]?.reason,
        targets: [],
      },
    ]);
  });

  test('a dead-letter queue that is down: what was to be parked is left to SQS to redeliver', async () => {
    parkingDown = true;
    const good = message(fromUs('c1', 'public', 'c-1'));
    const unreadable = { messageId: 'm-unreadable', body: 'not json', receiveCount: 1 };
    const phi = message(fromUs('c2', 'phi', 'c-2'));
    const report = await applyMessages(deps, [unreadable, good, phi]);
    expect(report).toMatchObject({
      failedMessageIds: [unreadable.messageId, phi.messageId],
      parked: [],
      malformed: 1,
      rejected: 1,
      stats: { fresh: 1 },
    });
  });
});
