import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import type { ApplyReport } from '../../lambda/shared/sync/apply';
import type { SyncMessage } from '../../lambda/shared/sync/events';
import { outboxCounts } from '../../lambda/shared/sync/outbox-store';
import { recordChanges } from '../../lambda/shared/sync/replica-store';
import type { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change } from './events';
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
        expect.stringMatching(/^apply failed 3 time\(s\): .*(Unicode|\\\\u0000)/),
      ]),
    );
    // Nothing is left in flight anywhere.
    for (const r of ['us-east-1', 'eu-west-1', 'ap-southeast-1'])
      expect(sqs.queue(inboundUrl(r))).toEqual([]);
    // 51 records × 2 targets = 102 deliveries: 51 + 50 applied once, 1 parked at the source;
    // and the 2 injected messages parked at eu.
    const parkedAtSource = sqs.queue(deadLetterUrl('us-east-1')).length;
    expect(fresh(reports.eu) + fresh(reports.ap) + parkedAtSource).toBe(102);
  });
});
