/**
 * A dispatch run drains the outbox batch after batch while the invocation has time: one batch per
 * scheduled run would carry at most `batchSize` records per schedule period.
 */
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import {
  type DispatchDeps,
  type DispatchReport,
  dispatchUntilDrained,
  sumDispatch,
  TargetBreakers,
} from '../../lambda/shared/sync/dispatch';
import { Masker } from '../../lambda/shared/sync/masking';
import { outboxCounts, writeChanges } from '../../lambda/shared/sync/outbox-store';
import { openTestDb, type TestDb } from '../support/db';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change } from './events';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const TARGET = 'eu-west-1';

describe('dispatchUntilDrained on Postgres', () => {
  let t: TestDb;
  const sent: string[] = [];
  let deps: DispatchDeps;
  beforeEach(async () => {
    t = await openTestDb();
    sent.length = 0;
    deps = {
      db: t.db,
      index,
      masker: new Masker((c) => index.rulesOf(c)?.masking, { pseudonymKey: Buffer.from('k') }),
      transport: {
        send: async (_target, messages) => {
          sent.push(...messages.map((m) => m.id));
          return { failed: new Map() };
        },
      },
      parking: { park: async () => undefined },
      breakers: new TargetBreakers({ timeout: false }),
      targets: [TARGET],
    };
    await writeChanges(
      t.db,
      Array.from({ length: 250 }, (_, i) =>
        change({
          seed: `drain-${i}`,
          entityKey: `p-${i}`,
          homeRegion: 'us-east-1',
          originRegion: 'us-east-1',
        }),
      ),
    );
  });
  afterEach(() => t.close());

  const options = { region: 'us-east-1', worker: 'w1', batchSize: 100, maxAttempts: 3 };

  test('batches run back to back until nothing is due; each is reported; totals add up', async () => {
    const batches: [number, number][] = [];
    const reports = await dispatchUntilDrained(deps, options, {
      remainingMs: () => 300_000,
      onBatch: async (r, n) => void batches.push([n, r.claimed]),
    });
    expect(batches).toEqual([
      [1, 100],
      [2, 100],
      [3, 50],
    ]);
    expect(new Set(sent).size).toBe(250);
    expect(sent).toHaveLength(250);
    expect(await outboxCounts(t.db)).toEqual({});
    expect(sumDispatch(reports)).toMatchObject({
      claimed: 250,
      done: 250,
      sent: { [TARGET]: 250 },
      parked: 0,
    });
  });

  test('no batch starts with less time left than the reserve; the rest waits for the next run', async () => {
    let left = 100_000;
    const reports = await dispatchUntilDrained(deps, options, {
      remainingMs: () => (left -= 40_000),
      reserveMs: 30_000,
    });
    // 60 s left after the first batch, 20 s after the second: two batches, 50 rows still due.
    expect(reports.map((r) => r.claimed)).toEqual([100, 100]);
    expect(await outboxCounts(t.db)).toEqual({ pending: 50 });
  });

  test('a fenced region stops at once', async () => {
    const reports = await dispatchUntilDrained({ ...deps, fenced: async () => true }, options, {
      remainingMs: () => 300_000,
    });
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ fenced: true, claimed: 0 });
    expect(sent).toEqual([]);
  });
});

test('sumDispatch keeps the first failure per target and the oldest sent time', () => {
  const base: DispatchReport = {
    region: 'us-east-1',
    worker: 'w',
    claimed: 1,
    done: 0,
    retrying: 1,
    parked: 0,
    sent: {},
    withheld: { 'restricted class': 1 },
    masked: 0,
    maskedFields: ['email'],
    failures: { [TARGET]: 'first' },
    parkedRecords: [],
  };
  expect(
    sumDispatch([
      { ...base, oldestSentWall: 20 },
      { ...base, failures: { [TARGET]: 'second' }, maskedFields: ['phone', 'email'] },
      { ...base, oldestSentWall: 10 },
    ]),
  ).toMatchObject({
    claimed: 3,
    retrying: 3,
    withheld: { 'restricted class': 3 },
    maskedFields: ['email', 'phone'],
    failures: { [TARGET]: 'first' },
    oldestSentWall: 10,
  });
  expect(() => sumDispatch([])).toThrow(/at least one/);
});
