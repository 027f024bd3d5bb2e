import fc from 'fast-check';
import { compareHomeWins, compareVersions, type Version } from '../../lambda/shared/sync/conflict';
import { orderTuple } from '../../lambda/shared/sync/replica-store';
import { openTestDb, type TestDb } from '../support/db';
import { uuid } from './events';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
});
afterAll(() => t.close());

/** Versions drawn from a small space, so ties on every component are common. */
const version = fc.record({
  wall: fc.constantFrom(1_700_000_000_000, 1_700_000_000_001, 9_007_199_254_740_000),
  logical: fc.integer({ min: 0, max: 2 }),
  region: fc.constantFrom('eu-west-1', 'eu-central-1', 'us-east-1', 'ap-south-1'),
  eventId: fc.constantFrom(uuid(1), uuid(2), uuid(3), uuid('F')),
});
const pair = fc.record({
  a: version,
  b: version,
  homeWins: fc.boolean(),
  home: fc.constantFrom('eu-west-1', 'us-east-1'),
});

test('the bulk upsert guard orders versions exactly as the pure function does (2,000 pairs)', async () => {
  const pairs = fc.sample(pair, { numRuns: 2000, seed: 42 });
  const row = (v: Version, home: string, homeWins: boolean) => ({
    data_class: homeWins ? 'phi' : 'public',
    home_region: home,
    hlc_wall: v.wall,
    hlc_logical: v.logical,
    origin_region: v.region,
    event_id: v.eventId,
  });
  const cols = `data_class text, home_region text, hlc_wall bigint, hlc_logical integer, origin_region text, event_id uuid`;
  const r = await t.db.query<{ i: number; gt: boolean; eq: boolean }>(
    `SELECT p.i, ${orderTuple('a', '$2')} > ${orderTuple('b', '$2')} AS gt,
            ${orderTuple('a', '$2')} = ${orderTuple('b', '$2')} AS eq
       FROM jsonb_to_recordset($1::jsonb) AS p(i int, a jsonb, b jsonb),
            LATERAL jsonb_to_record(p.a) AS a(${cols}),
            LATERAL jsonb_to_record(p.b) AS b(${cols})
      ORDER BY p.i`,
    [
      JSON.stringify(
        pairs.map((p, i) => ({
          i,
          a: row(p.a, p.home, p.homeWins),
          b: row(p.b, p.home, p.homeWins),
        })),
      ),
      ['phi'],
    ],
  );
  expect(r.rows).toHaveLength(pairs.length);
  const mismatches = r.rows.filter((row) => {
    const p = pairs[row.i] as (typeof pairs)[number];
    const cmp = p.homeWins ? compareHomeWins(p.home, p.a, p.b) : compareVersions(p.a, p.b);
    return row.gt !== cmp > 0 || row.eq !== (cmp === 0);
  });
  expect(mismatches).toEqual([]);
});
