/**
 * Sync follows the writer (issue 17 item 1): the real dispatch and apply code, on real Postgres,
 * through a regional failover of the us cell, a partition during it, and the failback.
 *
 * The us cell has two regions, each with its own database. Aurora's replication is modelled as
 * what it is to sync: the secondary holds what the writer had at the last replication point, and
 * an unplanned failover loses what the writer applied after it (`replicate`). The writer lease is
 * the one place that says which region is the cell's writer; a region that cannot reach the lock
 * keeps the last writer it saw. The eu cell (eu-west-1) writes records and sends them to the us
 * cell, which sends its own back.
 */
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { type ApplyReport, applyAudit } from '../../lambda/shared/sync/apply';
import type { Db } from '../../lambda/shared/sync/db';
import type { DispatchReport } from '../../lambda/shared/sync/dispatch';
import type { ChangeEvent } from '../../lambda/shared/sync/events';
import { outboxCounts } from '../../lambda/shared/sync/outbox-store';
import { recordChanges } from '../../lambda/shared/sync/replica-store';
import { LeaseWriters } from '../../lambda/shared/sync/writers';
import { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change } from './events';
import { leaks } from './evidence';
import { deadLetterUrl, drainAll, inboundUrl, openRegion, type Region } from './harness';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';
const T = Date.now();

/** The tables Aurora replicates to the cell's secondary (everything sync keeps). */
const TABLES = [
  'meridian_outbox',
  'meridian_outbox_sent',
  'meridian_replica',
  'meridian_replica_history',
  'meridian_review',
  'meridian_sync_target',
];

/** The secondary becomes what the writer holds now (a replication point). */
async function replicate(from: Db, to: Db): Promise<void> {
  for (const t of TABLES) {
    const rows = await from.query<{ j: unknown }>(
      `SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]'::jsonb) AS j FROM ${t} x`,
    );
    await to.query(`DELETE FROM ${t}`);
    await to.query(`INSERT INTO ${t} SELECT * FROM jsonb_populate_recordset(NULL::${t}, $1)`, [
      JSON.stringify(rows.rows[0]?.j ?? []),
    ]);
  }
}

const records = (prefix: string, n: number, home: string, offset: number): ChangeEvent[] =>
  Array.from({ length: n }, (_, i) =>
    change({
      seed: `${prefix}-${i}`,
      dataClass: i % 2 === 0 ? 'public' : 'internal',
      entityType: 'product',
      entityKey: `${prefix}-${i}`,
      homeRegion: home,
      originRegion: home,
      hlc: { wall: T + offset + i, logical: 0 },
      payload: { title: `${prefix} ${i}`, contact: `${prefix}${i}.person@example.com` },
    }),
  );

const sum = (rs: readonly ApplyReport[], k: 'fresh' | 'duplicates') =>
  rs.reduce((n, r) => n + (r.stats?.[k] ?? 0), 0);
const forwarded = (rs: readonly ApplyReport[]) =>
  rs.reduce((n, r) => n + Object.values(r.forwarded ?? {}).reduce((a, b) => a + b, 0), 0);

describe('sync follows the writer through a failover, a partition and the failback', () => {
  const sqs = new FakeSqs();
  /** The writer lease of each cell: the failover path's one record of who writes. */
  const leases: Record<string, { holder: string; epoch: number }> = {
    us: { holder: 'us-east-1', epoch: 1 },
    eu: { holder: 'eu-west-1', epoch: 1 },
  };
  /** The modelled Aurora role of each region. */
  const role: Record<string, 'writer' | 'standby' | 'down'> = {
    'us-east-1': 'writer',
    'us-west-2': 'standby',
    'eu-west-1': 'writer',
  };
  /** Regions that cannot reach any lock endpoint. */
  const cutOff = new Set<string>();
  const writersOf = (region: string) =>
    new LeaseWriters(
      index,
      async (cell) => {
        if (cutOff.has(region)) throw new Error('no lock endpoint answered');
        return leases[cell];
      },
      { ttlMs: 0 },
    );
  const optionsOf = (region: string) => {
    const writers = writersOf(region);
    const own = index.cellOf(region)?.primary ?? region;
    return {
      maxAttempts: 3,
      isWriter: async () => role[region] === 'writer',
      writers,
      cellWriter: async () => (await writers.resolve([own]))[0]?.writer ?? own,
    };
  };
  let eu: Region;
  let usE: Region;
  let usW: Region;
  const applied: Record<string, ApplyReport[]> = {};
  const drain = async (r: Region) => {
    const rs = await drainAll(r, sqs);
    applied[r.id] = [...(applied[r.id] ?? []), ...rs];
    return rs;
  };
  const A = records('a', 30, 'eu-west-1', 0);
  const B = records('b', 10, 'eu-west-1', 100);
  const C = records('c', 10, 'eu-west-1', 200);
  const D = records('d', 10, 'eu-west-1', 300);
  const U = records('u', 10, 'us-east-1', 400);
  const counts: Record<string, number | string> = {};

  /** Every dispatch report: what each run writes to the audit bucket. */
  const dispatched: DispatchReport[] = [];
  const recording = (r: Region): Region => ({
    ...r,
    dispatch: async (worker) => {
      const report = await r.dispatch(worker);
      dispatched.push(report);
      return report;
    },
  });

  beforeAll(async () => {
    eu = recording(
      await openRegion('eu-west-1', index, sqs, ['us-east-1'], optionsOf('eu-west-1')),
    );
    usE = recording(
      await openRegion('us-east-1', index, sqs, ['eu-west-1'], optionsOf('us-east-1')),
    );
    usW = recording(
      await openRegion('us-west-2', index, sqs, ['eu-west-1'], optionsOf('us-west-2')),
    );
  });
  afterAll(async () => {
    sqs.restore();
    await Promise.all([eu, usE, usW].map((r) => r.t.close()));
  });

  test('before the failure: the writer applies; replication trails it; some is still queued', async () => {
    await recordChanges(eu.t.db, A, strategyOf);
    expect((await eu.dispatch()).sent).toEqual({ 'us-east-1': 30 });
    await usE.drain();
    await usE.drain();
    await recordChanges(usE.t.db, U, strategyOf);
    // The last replication point: twenty of A applied, U's outbox rows written and not yet sent.
    await replicate(usE.t.db, usW.t.db);
    // The last ten of A are applied in us-east-1 after it: lost with the region.
    await usE.drain();
    await recordChanges(eu.t.db, B, strategyOf);
    await eu.dispatch(); // B waits in us-east-1's queue when the region fails
    expect(sqs.queue(inboundUrl('us-east-1'))).toHaveLength(10);
    const atSecondary = await usW.t.db.query(
      "SELECT 1 FROM meridian_replica WHERE entity_key ~ '^a-'",
    );
    expect(atSecondary.rows).toHaveLength(20);
  });

  test('the region fails: what eu sends cannot land, and is parked with its reason', async () => {
    role['us-east-1'] = 'down';
    sqs.down.add('us-east-1');
    await recordChanges(eu.t.db, C, strategyOf);
    for (let i = 0; i < 3; i++) await eu.dispatch();
    expect(await outboxCounts(eu.t.db)).toEqual({ parked: 10 });
    expect(sqs.queue(deadLetterUrl('eu-west-1'))[0]?.attributes.reason).toMatch(
      /^gave up after 3 attempt\(s\): us-east-1: connect ETIMEDOUT/,
    );
  });

  test('promotion behind a partition: eu keeps the last writer it saw until the lock answers', async () => {
    leases.us = { holder: 'us-west-2', epoch: 2 };
    role['us-west-2'] = 'writer';
    cutOff.add('eu-west-1');
    const blind = await eu.dispatch();
    expect(blind.followed).toBeUndefined();
    expect(await outboxCounts(eu.t.db)).toEqual({ parked: 10 });
    // us-west-2 is the writer: its sync ships the us outbox it inherited.
    expect((await usW.dispatch()).sent).toEqual({ 'eu-west-1': 10 });
    expect(sum(await drain(eu), 'fresh')).toBe(10);
  });

  test('the partition heals: what was parked and what the old writer may have lost move to the new writer, with no redrive', async () => {
    cutOff.delete('eu-west-1');
    const report = await eu.dispatch();
    expect(report.followed).toEqual([
      {
        target: 'us-east-1',
        from: 'us-east-1',
        to: 'us-west-2',
        unparked: 10,
        hurried: 0,
        replayed: 40,
      },
    ]);
    expect(report.sent).toEqual({ 'us-east-1': 50 });
    expect(sqs.queue(inboundUrl('us-west-2'))).toHaveLength(50);
    const rs = await drain(usW);
    // New here: A's ten applied after the replication point, B (queued in the failed region), C.
    expect(sum(rs, 'fresh')).toBe(30);
    expect(sum(rs, 'duplicates')).toBe(20);
    expect(await outboxCounts(eu.t.db)).toEqual({});
  });

  test('the old writer returns as a secondary: what it still held is forwarded, not applied', async () => {
    sqs.down.delete('us-east-1');
    await replicate(usW.t.db, usE.t.db); // Aurora rebuilds it from the new writer
    role['us-east-1'] = 'standby';
    const rs = await drain(usE);
    expect(forwarded(rs)).toBe(10);
    expect(sum(rs, 'fresh') + sum(rs, 'duplicates')).toBe(0);
    // SQS drops the copies the replay already delivered (same deduplication id, within 5 min).
    expect(sqs.queue(inboundUrl('us-west-2'))).toHaveLength(0);
    // Its dispatch stands down: it is not the writer.
    expect((await usE.dispatch()).fenced).toBe(true);
  });

  test('failback: the writer moves home; eu follows it, and nothing is left anywhere', async () => {
    await replicate(usW.t.db, usE.t.db); // a planned switchover loses nothing
    leases.us = { holder: 'us-east-1', epoch: 3 };
    role['us-east-1'] = 'writer';
    role['us-west-2'] = 'standby';
    await recordChanges(eu.t.db, D, strategyOf);
    const report = await eu.dispatch();
    expect(report.followed?.map((f) => [f.from, f.to])).toEqual([['us-west-2', 'us-east-1']]);
    const rs = await drain(usE);
    expect(sum(rs, 'fresh')).toBe(10);
    await drain(usW);

    // The count: each eu record once in the writer's replica, no version applied twice.
    const held = await usE.t.db.query<{ entity_key: string }>(
      "SELECT entity_key FROM meridian_replica WHERE entity_key ~ '^[abcd]-'",
    );
    const history = await usE.t.db.query('SELECT 1 FROM meridian_replica_history');
    const all = [...A, ...B, ...C, ...D];
    expect(held.rows.map((r) => r.entity_key).sort()).toEqual(all.map((e) => e.entityKey).sort());
    expect(history.rows).toHaveLength(0);
    const euHeld = await eu.t.db.query("SELECT 1 FROM meridian_replica WHERE entity_key ~ '^u-'");
    expect(euHeld.rows).toHaveLength(U.length);
    // Nothing stuck: outboxes empty, inbound queues empty.
    for (const r of [eu, usE]) expect(await outboxCounts(r.t.db)).toEqual({});
    for (const r of ['eu-west-1', 'us-east-1', 'us-west-2'])
      expect(sqs.queue(inboundUrl(r))).toHaveLength(0);
    Object.assign(counts, {
      'eu records written': all.length,
      'applied once in the us writer': held.rows.length,
      'second applications': history.rows.length,
      'duplicates refused by state': Object.values(applied).reduce(
        (n, rs) => n + sum(rs, 'duplicates'),
        0,
      ),
      'forwarded by a non-writer': Object.values(applied).reduce((n, rs) => n + forwarded(rs), 0),
      'us records applied in eu': euHeld.rows.length,
      'stuck in outboxes or inbound queues': 0,
      'stale copies in the eu dead-letter queue (a redrive settles them, never resends)': sqs.queue(
        deadLetterUrl('eu-west-1'),
      ).length,
    });
    // No record value in any audit object or park reason of the whole run (issue 17 item 4).
    const evidence = [
      ...dispatched,
      ...Object.values(applied).flatMap((rs) => rs.map(applyAudit)),
      ...[...sqs.queues.values()].flatMap((q) => q.map((m) => m.attributes.reason ?? '')),
    ];
    expect(leaks(evidence, [...all, ...U])).toEqual([]);
    console.log(
      `sync through failover and failback:\n${Object.entries(counts)
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n')}`,
    );
  });
});
