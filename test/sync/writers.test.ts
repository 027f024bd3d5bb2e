import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { takesWrites } from '../../lambda/shared/sync/db';
import { LeaseWriters, PLAN_WRITERS } from '../../lambda/shared/sync/writers';
import { openTestDb } from '../support/db';
import { EIGHT_REGIONS, load } from '../support/fixture';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);

describe('LeaseWriters: each target cell’s writer from its lease', () => {
  test('the lease holder is the writer; a cell whose lease was never taken has its plan primary', async () => {
    const leases: Record<string, { holder: string; epoch: number }> = {
      us: { holder: 'us-west-2', epoch: 4 },
    };
    const w = new LeaseWriters(index, async (cell) => leases[cell]);
    expect(await w.resolve(['us-east-1', 'eu-west-1'])).toEqual([
      { target: 'us-east-1', writer: 'us-west-2', epoch: 4 },
      { target: 'eu-west-1', writer: 'eu-west-1', epoch: 0 },
    ]);
  });

  test('a holder outside the target cell is not believed: the record would land outside it', async () => {
    const w = new LeaseWriters(index, async () => ({ holder: 'eu-central-1', epoch: 9 }));
    expect(await w.resolve(['us-east-1'])).toEqual([
      { target: 'us-east-1', writer: 'us-east-1', epoch: 0 },
    ]);
  });

  test('no endpoint answers: the last writer seen stays; the answer is reused for the TTL', async () => {
    let now = 0;
    let reads = 0;
    let answer: () => { holder: string; epoch: number } = () => ({
      holder: 'us-west-2',
      epoch: 2,
    });
    const w = new LeaseWriters(
      index,
      async () => {
        reads += 1;
        return answer();
      },
      { ttlMs: 5000, now: () => now },
    );
    expect((await w.resolve(['us-east-1']))[0]?.writer).toBe('us-west-2');
    now = 4000;
    await w.resolve(['us-east-1']);
    expect(reads).toBe(1);
    answer = () => {
      throw new Error('timeout');
    };
    now = 6000;
    expect((await w.resolve(['us-east-1']))[0]).toEqual({
      target: 'us-east-1',
      writer: 'us-west-2',
      epoch: 2,
    });
    expect(reads).toBe(2);
  });

  test('PLAN_WRITERS: every target is its own writer', async () => {
    expect(await PLAN_WRITERS.resolve(['us-east-1'])).toEqual([
      { target: 'us-east-1', writer: 'us-east-1', epoch: 0 },
    ]);
  });
});

describe('takesWrites: the database says whether this region is the writer', () => {
  test('a writable database takes writes; fenced read-only, it does not', async () => {
    const t = await openTestDb();
    try {
      expect(await takesWrites(t.db)).toBe(true);
      await t.db.query('SET default_transaction_read_only = on');
      expect(await takesWrites(t.db)).toBe(false);
      await t.db.query('SET default_transaction_read_only = off');
      expect(await takesWrites(t.db)).toBe(true);
    } finally {
      await t.close();
    }
  });
});
