/**
 * The relay (issue 17 item 2) on real Postgres: a commit wakes it (LISTEN/NOTIFY), it sends the
 * realtime classes only, and the scheduled run sends the rest. The relay here polls only once a
 * minute, so a record sent within its two-second run was sent because the commit woke it.
 */
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { outboxCounts } from '../../lambda/shared/sync/outbox-store';
import { recordChanges } from '../../lambda/shared/sync/replica-store';
import { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change } from './events';
import { inboundUrl, openRegion, type Region } from './harness';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';

describe('the relay', () => {
  const sqs = new FakeSqs();
  let us: Region;
  beforeAll(async () => {
    us = await openRegion('us-east-1', index, sqs, ['eu-west-1']);
  });
  afterAll(async () => {
    sqs.restore();
    await us.t.close();
  });

  test('a commit wakes it: the realtime record is sent in the same run; a batch class waits for the schedule', async () => {
    // Write once the relay listens: the notification is the only thing that can wake it.
    let listening!: () => void;
    const started = new Promise<void>((resolve) => {
      listening = resolve;
    });
    const deadline = Date.now() + 2000;
    const run = us.relay(index.realtimeClasses(), {
      remainingMs: () => deadline - Date.now(),
      reserveMs: 0,
      pollMs: 60_000,
      onBatch: async (r) => {
        if (r.claimed === 0) listening();
      },
    });
    await started;
    await recordChanges(
      us.t.db,
      [
        change({
          seed: 'rt',
          dataClass: 'public',
          entityKey: 'rt',
          homeRegion: 'us-east-1',
          originRegion: 'us-east-1',
        }),
        change({
          seed: 'bulk',
          dataClass: 'internal',
          entityKey: 'bulk',
          homeRegion: 'us-east-1',
          originRegion: 'us-east-1',
        }),
      ],
      strategyOf,
    );
    const reports = await run;
    expect(reports.reduce((n, r) => n + (r.sent['eu-west-1'] ?? 0), 0)).toBe(1);
    expect(
      sqs.queue(inboundUrl('eu-west-1')).map((m) => JSON.parse(m.body).event.dataClass),
    ).toEqual(['public']);
    // The batch class is left to the scheduled run, which sends everything.
    expect(await outboxCounts(us.t.db)).toEqual({ pending: 1 });
    expect((await us.dispatch()).sent).toEqual({ 'eu-west-1': 1 });
  });

  test('the plan carries each class’s priority: realtime unless regions/ says batch', () => {
    expect(index.realtimeClasses()).toContain('public');
    expect(index.realtimeClasses()).not.toContain('internal');
  });
});
