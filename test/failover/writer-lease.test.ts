import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DbFenceState } from '../../lambda/shared/failover/db-fence';
import {
  KEEPER_ROUND_BUDGET_MS,
  KEEPER_ROUNDS,
  type KeeperDeps,
  type KeeperMemory,
  keep,
  keeperRound,
  type Wanted,
} from '../../lambda/shared/failover/writer-keeper';
import {
  CLOCK_SKEW_BOUND_SECONDS,
  FENCE_MARGIN_MS,
  readWriterLease,
  renewWriterLease,
  returnWriterLease,
  takeWriterLease,
  WRITER_LEASE,
} from '../../lambda/shared/failover/writer-lease';
import { FakeDynamoDb } from '../../lib/failover/drill/fake-dynamodb';

let fake: FakeDynamoDb;
const ddb = new DynamoDBClient({ region: 'us-east-1' });
const ref = { table: 'meridian-prod-in-runbook-lock', cell: 'in' };
const LEASE_MS = WRITER_LEASE.seconds * 1000;
const SKEW_MS = CLOCK_SKEW_BOUND_SECONDS * 1000;
beforeEach(() => {
  fake = new FakeDynamoDb();
});
afterEach(() => fake.restore());

describe('writer lease', () => {
  test('the first writer creates it; no other region can', async () => {
    expect(await renewWriterLease(ddb, ref, 'ap-south-2', { now: 0, initial: false })).toEqual({
      held: false,
    });
    expect(await renewWriterLease(ddb, ref, 'ap-south-1', { now: 0, initial: true })).toEqual({
      held: true,
      lease: { holder: 'ap-south-1', expiresAt: LEASE_MS, epoch: 0 },
    });
  });

  test('the holder renews, even after its lease ran out while nobody took it', async () => {
    await renewWriterLease(ddb, ref, 'ap-south-1', { now: 0, initial: true });
    const later = LEASE_MS + 60_000;
    expect(
      await renewWriterLease(ddb, ref, 'ap-south-1', { now: later, initial: true }),
    ).toMatchObject({ held: true, lease: { expiresAt: later + LEASE_MS } });
  });

  test('an unplanned takeover waits for the end of the lease plus the skew bound', async () => {
    await renewWriterLease(ddb, ref, 'ap-south-1', { now: 0, initial: true });
    const early = await takeWriterLease(ddb, ref, 'ap-south-2', {
      now: LEASE_MS + SKEW_MS,
      planned: false,
    });
    expect(early).toEqual({
      taken: false,
      holder: { holder: 'ap-south-1', expiresAt: LEASE_MS, epoch: 0 },
      notBefore: LEASE_MS + SKEW_MS,
    });
    const taken = await takeWriterLease(ddb, ref, 'ap-south-2', {
      now: LEASE_MS + SKEW_MS + 1,
      planned: false,
    });
    expect(taken).toMatchObject({ taken: true, lease: { holder: 'ap-south-2', epoch: 1 } });
    // The old writer, back, learns it is not the writer any more.
    expect(
      await renewWriterLease(ddb, ref, 'ap-south-1', { now: LEASE_MS * 2, initial: true }),
    ).toMatchObject({ held: false, holder: { holder: 'ap-south-2' } });
    // Taking it again is idempotent for the new holder.
    expect(
      await takeWriterLease(ddb, ref, 'ap-south-2', { now: LEASE_MS * 2, planned: false }),
    ).toMatchObject({ taken: true, lease: { holder: 'ap-south-2' } });
  });

  test('a refused takeover revokes the live lease: the holder cannot renew it and stops', async () => {
    await renewWriterLease(ddb, ref, 'ap-south-1', { now: 0, initial: true });
    expect(
      await takeWriterLease(ddb, ref, 'ap-south-2', { now: 1000, planned: false }),
    ).toMatchObject({ taken: false, holder: { holder: 'ap-south-1' } });
    expect(await renewWriterLease(ddb, ref, 'ap-south-1', { now: 2000, initial: true })).toEqual({
      held: false,
      holder: { holder: 'ap-south-1', expiresAt: LEASE_MS, epoch: 0, revokedFor: 'ap-south-2' },
    });
    const taken = await takeWriterLease(ddb, ref, 'ap-south-2', {
      now: LEASE_MS + SKEW_MS + 1,
      planned: false,
    });
    expect(taken).toMatchObject({ taken: true, lease: { holder: 'ap-south-2' } });
    expect(taken.taken && taken.lease.revokedFor).toBeUndefined();
    // The new holder renews what it took.
    expect(
      await renewWriterLease(ddb, ref, 'ap-south-2', { now: LEASE_MS * 2, initial: false }),
    ).toMatchObject({ held: true });
  });

  test('a rolled-back promotion gives the lease back, revoked or taken', async () => {
    await renewWriterLease(ddb, ref, 'ap-south-1', { now: 0, initial: true });
    await takeWriterLease(ddb, ref, 'ap-south-2', { now: 1000, planned: false });
    expect(await returnWriterLease(ddb, ref, 'ap-south-2', 'ap-south-1')).toBe(true);
    expect(
      await renewWriterLease(ddb, ref, 'ap-south-1', { now: 2000, initial: true }),
    ).toMatchObject({ held: true });
    await takeWriterLease(ddb, ref, 'ap-south-2', { now: 3000, planned: true });
    expect(await returnWriterLease(ddb, ref, 'ap-south-2', 'ap-south-1')).toBe(true);
    expect(
      await renewWriterLease(ddb, ref, 'ap-south-1', { now: 4000, initial: true }),
    ).toMatchObject({ held: true });
    // Nothing of ap-south-2's to give back: refused.
    expect(await returnWriterLease(ddb, ref, 'ap-south-2', 'ap-south-1')).toBe(false);
  });

  test('a planned switchover takes it at once', async () => {
    await renewWriterLease(ddb, ref, 'ap-south-1', { now: 0, initial: true });
    expect(
      await takeWriterLease(ddb, ref, 'ap-south-2', { now: 1000, planned: true }),
    ).toMatchObject({ taken: true, lease: { holder: 'ap-south-2', expiresAt: 1000 + LEASE_MS } });
    expect(await readWriterLease(ddb, ref)).toMatchObject({ holder: 'ap-south-2', epoch: 1 });
  });
});

/** A keeper's world: a lock that answers as told, a database with its fence, the health sign. */
function keeper(opts: { renew: KeeperDeps['renew']; db?: Partial<DbFenceState> | 'unreachable' }) {
  const db: { -readonly [K in keyof DbFenceState]: DbFenceState[K] } = {
    replica: false,
    fenced: false,

    ...(opts.db === 'unreachable' ? {} : opts.db),
  };
  const signs: Wanted[] = [];
  let t = 0;
  const deps: KeeperDeps = {
    renew: opts.renew,
    db: {
      state: async () => {
        if (opts.db === 'unreachable') throw new Error('connect ETIMEDOUT');
        return { replica: db.replica, fenced: db.fenced };
      },
      fence: async () => {
        db.fenced = true;
        return { terminated: 3 };
      },
      unfence: async () => {
        db.fenced = false;
      },
    },
    sign: async (s) => {
      signs.push(s);
    },
    now: () => t,
  };
  return { deps, db, signs, at: (ms: number) => (t = ms) };
}

const held = (expiresAt: number) => async () =>
  ({ held: true, lease: { holder: 'ap-south-1', expiresAt, epoch: 0 } }) as const;
const other = async () =>
  ({ held: false, holder: { holder: 'ap-south-2', expiresAt: 0, epoch: 1 } }) as const;
const silent = async (): Promise<never> => {
  throw Object.assign(new Error('timeout'), { name: 'TimeoutError' });
};

describe('writer keeper', () => {
  test('renewed: the database stays open and the sign says so', async () => {
    const k = keeper({ renew: held(LEASE_MS) });
    const memory: KeeperMemory = {};
    expect(await keeperRound(k.deps, memory)).toEqual({
      at: 0,
      lease: 'held',
      wanted: 'open',
      db: 'unchanged',
    });
    expect(k.signs).toEqual(['open']);
    expect(memory.expiresAt).toBe(LEASE_MS);
  });

  test('another region holds the lease: the writer fences itself, sign first', async () => {
    const k = keeper({ renew: other });
    const memory: KeeperMemory = { expiresAt: LEASE_MS, sign: 'open' };
    expect(await keeperRound(k.deps, memory)).toEqual({
      at: 0,
      lease: 'other',
      wanted: 'fenced',
      holder: 'ap-south-2',
      db: 'fenced',
      terminated: 3,
    });
    expect(k.db.fenced).toBe(true);
    expect(k.signs).toEqual(['fenced']);
    // The next round finds it fenced already: nothing more to do.
    expect(await keeperRound(k.deps, memory)).toMatchObject({ db: 'unchanged' });
    expect(k.signs).toEqual(['fenced']);
  });

  test('no answer: open while the lease ends beyond the margin, fenced within it', async () => {
    const k = keeper({ renew: silent });
    const memory: KeeperMemory = { expiresAt: LEASE_MS, sign: 'open' };
    k.at(LEASE_MS - FENCE_MARGIN_MS - 1);
    expect(await keeperRound(k.deps, memory)).toMatchObject({
      lease: 'no-answer',
      wanted: 'open',
      db: 'unchanged',
    });
    expect(k.db.fenced).toBe(false);
    k.at(LEASE_MS - FENCE_MARGIN_MS);
    expect(await keeperRound(k.deps, memory)).toMatchObject({ wanted: 'fenced', db: 'fenced' });
    // Fenced before the lease ends, with a round and two call timeouts to spare.
    expect(LEASE_MS - FENCE_MARGIN_MS).toBeLessThan(LEASE_MS - WRITER_LEASE.renewSeconds * 1000);
  });

  test('a cold start that hears nothing fences at once (it cannot know its lease)', async () => {
    const k = keeper({ renew: silent });
    expect(await keeperRound(k.deps, {})).toMatchObject({ wanted: 'fenced', db: 'fenced' });
  });

  test('the lease back: the database is unfenced (a promoted cluster inherits the old fence)', async () => {
    const k = keeper({ renew: held(LEASE_MS), db: { fenced: true } });
    const memory: KeeperMemory = { sign: 'fenced' };
    expect(await keeperRound(k.deps, memory)).toMatchObject({ lease: 'held', db: 'unfenced' });
    expect(k.db.fenced).toBe(false);
    expect(k.signs).toEqual(['open']);
  });

  test('a replica is left alone and keeps serving reads', async () => {
    const k = keeper({ renew: other, db: { replica: true } });
    expect(await keeperRound(k.deps, {})).toMatchObject({ wanted: 'fenced', db: 'replica' });
    expect(k.db.fenced).toBe(false);
    expect(k.signs).toEqual(['open']);
  });

  test('a writer whose database does not answer still takes itself out of routing', async () => {
    const k = keeper({ renew: other, db: 'unreachable' });
    expect(await keeperRound(k.deps, { expiresAt: LEASE_MS })).toMatchObject({
      db: 'unreachable',
    });
    expect(k.signs).toEqual(['fenced']);
    const secondary = keeper({ renew: other, db: 'unreachable' });
    await keeperRound(secondary.deps, {});
    expect(secondary.signs).toEqual([]);
  });
});

describe('keeper invocation', () => {
  test('six rounds 10 s apart, each started only if it can finish before the deadline', async () => {
    const k = keeper({ renew: held(LEASE_MS) });
    let t = 0;
    const deps = {
      ...k.deps,
      now: () => t,
      sleep: async (ms: number) => {
        t += ms;
      },
    };
    const all = await keep(deps, {}, 60_000);
    expect(all.map((r) => r.at)).toEqual(
      Array.from({ length: KEEPER_ROUNDS }, (_, i) => i * WRITER_LEASE.renewSeconds * 1000),
    );
    t = 0;
    const cut = await keep(deps, {}, 20_000 + KEEPER_ROUND_BUDGET_MS - 1);
    expect(cut.map((r) => r.at)).toEqual([0, 10_000]);
  });
});
