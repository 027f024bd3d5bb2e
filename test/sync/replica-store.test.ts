import type { Version } from '../../lambda/shared/sync/conflict';
import type { Db } from '../../lambda/shared/sync/db';
import type { ChangeEvent } from '../../lambda/shared/sync/events';
import {
  applyBatch,
  applyEvents,
  decodeClocks,
  encodeClocks,
  GuardRejectedError,
  readReplica,
} from '../../lambda/shared/sync/replica-store';
import type { ConflictStrategy } from '../../lambda/shared/sync/rules';
import { openTestDb, type TestDb } from '../support/db';
import { change } from './events';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
});
afterAll(() => t.close());

const T = 1_700_000_000_000;
const strategies: Record<string, ConflictStrategy> = {
  public: 'lww',
  phi: 'home-wins',
  pii: 'field-merge',
  sensitive: 'manual',
};
const strategyOf = (c: string) => strategies[c] ?? 'lww';
const at = (
  key: string,
  dataClass: string,
  region: string,
  wall: number,
  payload: object,
  seed: string,
) =>
  change({
    seed,
    entityKey: key,
    dataClass,
    homeRegion: 'eu-west-1',
    originRegion: region,
    hlc: { wall, logical: 0 },
    payload: payload as ChangeEvent['payload'],
  });

describe('applyBatch on Postgres', () => {
  test('lww: one transaction, later version wins in either batch order, loser in history', async () => {
    const a = at('lww-1', 'public', 'eu-west-1', T, { v: 'a' }, 'l1');
    const b = at('lww-1', 'public', 'us-east-1', T + 1, { v: 'b' }, 'l2');
    const stats = await applyBatch(t.db, [b, a], strategyOf);
    expect(stats).toMatchObject({ fresh: 2, written: 1, superseded: 1, conflicts: 1 });
    expect((await readReplica(t.db, 'customer', 'lww-1'))?.payload).toEqual({ v: 'b' });
    const h = await t.db.query<{ payload: unknown }>(
      "SELECT payload FROM meridian_replica_history WHERE entity_key = 'lww-1'",
    );
    expect(h.rows).toEqual([{ payload: { v: 'a' } }]);
  });

  test('a redelivered batch changes nothing: equal versions are no-ops', async () => {
    const e = at('dup-1', 'public', 'eu-west-1', T, { v: 1 }, 'd1');
    await applyBatch(t.db, [e], strategyOf);
    expect(await applyBatch(t.db, [e, e], strategyOf)).toMatchObject({
      fresh: 0,
      duplicates: 2,
      written: 0,
    });
  });

  test('home-wins through the SQL guard: a later foreign write does not replace the home version', async () => {
    await applyBatch(t.db, [at('hw-1', 'phi', 'eu-west-1', T, { dose: 5 }, 'h1')], strategyOf);
    await applyBatch(t.db, [at('hw-1', 'phi', 'us-east-1', T + 9, { dose: 50 }, 'h2')], strategyOf);
    expect((await readReplica(t.db, 'customer', 'hw-1'))?.payload).toEqual({ dose: 5 });
  });

  test('field-merge: fields from different batches and regions merge, clocks stored', async () => {
    await applyBatch(
      t.db,
      [at('fm-1', 'pii', 'eu-west-1', T, { name: 'Ada', email: 'a@x' }, 'f1')],
      strategyOf,
    );
    await applyBatch(
      t.db,
      [at('fm-1', 'pii', 'us-east-1', T + 2, { email: 'b@x' }, 'f2')],
      strategyOf,
    );
    // An older write to another field still lands (its field's clock is older).
    await applyBatch(
      t.db,
      [at('fm-1', 'pii', 'ap-south-1', T + 1, { phone: '1' }, 'f3')],
      strategyOf,
    );
    const row = await readReplica(t.db, 'customer', 'fm-1');
    expect(row?.payload).toEqual({ name: 'Ada', email: 'b@x', phone: '1' });
    expect(Object.keys(row?.clocks ?? {}).sort()).toEqual(['email', 'name', 'phone']);
  });

  test('field-merge: clocks are stored once per version, fields as indexes', async () => {
    await applyBatch(
      t.db,
      [at('fc-1', 'pii', 'eu-west-1', T, { name: 'Ada', email: 'a@x', phone: '0' }, 'fc1')],
      strategyOf,
    );
    await applyBatch(
      t.db,
      [at('fc-1', 'pii', 'us-east-1', T + 2, { email: 'b@x' }, 'fc2')],
      strategyOf,
    );
    const r = await t.db.query<{ clocks: unknown }>(
      "SELECT clocks FROM meridian_replica WHERE entity_key = 'fc-1'",
    );
    const first = change({ seed: 'fc1' }).eventId;
    const second = change({ seed: 'fc2' }).eventId;
    expect(r.rows[0]?.clocks).toEqual({
      v: [
        [T + 2, 0, 'us-east-1', second],
        [T, 0, 'eu-west-1', first],
      ],
      f: { email: 0, name: 1, phone: 1 },
    });
  });

  test('field-merge: a row stored with one clock object per field (the earlier shape) still merges', async () => {
    const old = {
      wall: T + 5,
      logical: 0,
      region: 'eu-west-1',
      eventId: change({ seed: 'o1' }).eventId,
    };
    await t.db.query(
      `INSERT INTO meridian_replica (entity_type, entity_key, data_class, home_region, hlc_wall,
         hlc_logical, origin_region, event_id, payload, clocks)
       VALUES ('customer', 'fo-1', 'pii', 'eu-west-1', $1, 0, 'eu-west-1', $2, $3, $4)`,
      [T + 5, old.eventId, { name: 'Ada', email: 'a@x' }, { name: old, email: old }],
    );
    // Older than `name`'s clock, newer than nothing for `phone`: only phone lands.
    await applyBatch(
      t.db,
      [at('fo-1', 'pii', 'us-east-1', T + 1, { name: 'Bob', phone: '1' }, 'o2')],
      strategyOf,
    );
    const row = await readReplica(t.db, 'customer', 'fo-1');
    expect(row?.payload).toEqual({ name: 'Ada', email: 'a@x', phone: '1' });
    expect(row?.clocks?.name).toEqual(old);
    expect(row?.version).toEqual(old);
  });

  test('manual: replicas converge on lww and both versions wait in the review table', async () => {
    await applyBatch(
      t.db,
      [at('mr-1', 'sensitive', 'eu-west-1', T, { limit: 1 }, 'm1')],
      strategyOf,
    );
    const s = await applyBatch(
      t.db,
      [at('mr-1', 'sensitive', 'us-east-1', T + 1, { limit: 2 }, 'm2')],
      strategyOf,
    );
    expect(s.reviews).toBe(2);
    expect((await readReplica(t.db, 'customer', 'mr-1'))?.payload).toEqual({ limit: 2 });
    const r = await t.db.query<{ payload: unknown; status: string }>(
      "SELECT payload, status FROM meridian_review WHERE entity_key = 'mr-1' ORDER BY hlc_wall",
    );
    expect(r.rows).toEqual([
      { payload: { limit: 1 }, status: 'open' },
      { payload: { limit: 2 }, status: 'open' },
    ]);
  });

  test('a newer row another writer commits under the batch is never replaced: the batch fails, to be retried', async () => {
    const mine = at('cw-1', 'public', 'eu-west-1', T, { v: 'mine' }, 'cw1');
    const next = at('cw-2', 'public', 'eu-west-1', T, { v: 'mine' }, 'cw2');
    // cw-1 does not exist when the batch reads it, so no row lock holds the other writer back: it
    // commits a newer version between the batch's read and its write.
    const other = await t.connect();
    let interleaved = false;
    const db: Db = {
      query: async (text, params) => {
        if (!interleaved && text.includes('WITH archived')) {
          interleaved = true;
          await other.query(
            `INSERT INTO meridian_replica (entity_type, entity_key, data_class, home_region, hlc_wall,
               hlc_logical, origin_region, event_id, payload)
             VALUES ('customer', 'cw-1', 'public', 'eu-west-1', $1, 0, 'us-east-1', $2, '{"v":"theirs"}')`,
            [T + 1, change({ seed: 'cw3' }).eventId],
          );
        }
        return t.db.query(text, params);
      },
      exec: (sql) => t.db.exec(sql),
    };
    const failed = applyBatch(db, [mine, next], strategyOf);
    await expect(failed).rejects.toBeInstanceOf(GuardRejectedError);
    await expect(failed).rejects.toMatchObject({
      name: 'GuardRejectedError',
      message: '1 row(s) changed under the batch; it will be retried',
    });
    expect(await readReplica(t.db, 'customer', 'cw-2')).toBeUndefined();
    // PGlite has one session: there the other write was part of the rolled-back batch.
    if (t.kind === 'server')
      expect((await readReplica(t.db, 'customer', 'cw-1'))?.payload).toEqual({ v: 'theirs' });
  });

  test('an empty batch asks the database nothing', async () => {
    const db: Db = {
      query: () => Promise.reject(new Error('no query expected')),
      exec: () => Promise.reject(new Error('no statement expected')),
    };
    expect(await applyEvents(db, [], strategyOf)).toEqual({
      fresh: 0,
      duplicates: 0,
      written: 0,
      conflicts: 0,
      superseded: 0,
      reviews: 0,
      erased: 0,
      touched: [],
      outcomes: {},
    });
  });

  test('a failing statement rolls the whole batch back', async () => {
    const good = at('rb-1', 'public', 'eu-west-1', T, { v: 1 }, 'r1');
    const bad = at('rb-2', 'public', 'eu-west-1', T, { v: 'nul\u0000' }, 'r2');
    await expect(applyBatch(t.db, [good, bad], strategyOf)).rejects.toThrow();
    expect(await readReplica(t.db, 'customer', 'rb-1')).toBeUndefined();
    expect(await applyBatch(t.db, [good], strategyOf)).toMatchObject({ fresh: 1, written: 1 });
  });
});

describe('stored clocks', () => {
  const v = (wall: number, region: string, seed: string): Version => ({
    wall,
    logical: 0,
    region,
    eventId: change({ seed }).eventId,
  });
  const a = v(T, 'eu-west-1', 'a');
  const b = v(T + 1, 'us-east-1', 'b');

  test('round trip: every field reads back its own version', () => {
    const clocks = { name: a, email: b, $deleted: a };
    expect(decodeClocks(encodeClocks(clocks))).toEqual(clocks);
  });

  test('canonical: the same clocks in any key order, with copies or shared versions, encode alike', () => {
    const one = encodeClocks({ name: a, email: b, phone: a });
    const two = encodeClocks({ phone: { ...a }, email: { ...b }, name: { ...a } });
    expect(JSON.stringify(two)).toBe(JSON.stringify(one));
    expect(one.v).toHaveLength(2);
  });

  test('the earlier shape reads as it was, even with fields named v and f', () => {
    const earlier = { v: a, f: b };
    expect(decodeClocks(earlier)).toEqual(earlier);
  });
});
