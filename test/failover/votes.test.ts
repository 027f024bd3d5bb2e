import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  castVote,
  quorumOf,
  readVotes,
  tally,
  VOTE,
  type Vote,
} from '../../lambda/shared/failover/votes';
import { FakeDynamoDb } from '../../lib/failover/drill/fake-dynamodb';

const T = Date.UTC(2026, 11, 7, 12, 0, 0);
const WATCHERS = ['ap-south-2', 'ap-southeast-1', 'eu-central-1'];
const vote = (watcher: string, streak: number, ageMs = 0): Vote => ({
  watcher,
  at: T - ageMs,
  streak,
});

describe('tally: a region is down only for a majority of its watchers', () => {
  test.each([
    ['all three see it down', [2, 2, 2], 'down'],
    ['two of three', [2, 3, 0], 'down'],
    ['one of three (the India cut-off: the takeover region alone)', [5, 0, 0], 'up'],
    ['two suspect for one round only', [1, 1, 0], 'unknown'],
    ['one down, one up, one silent', [2, 0, undefined], 'unknown'],
    ['nobody voted', [undefined, undefined, undefined], 'unknown'],
  ] as const)('%s', (_name, streaks, verdict) => {
    const votes = streaks.flatMap((s, i) =>
      s === undefined ? [] : [vote(WATCHERS[i] as string, s)],
    );
    expect(tally(WATCHERS, votes, T).verdict).toBe(verdict);
  });

  test('stale votes do not count; votes of non-watchers are ignored; duplicates count once', () => {
    const stale = VOTE.freshMs + 1;
    expect(
      tally(WATCHERS, [vote('ap-south-2', 9), vote('eu-central-1', 9, stale)], T),
    ).toMatchObject({ down: ['ap-south-2'], verdict: 'unknown' });
    expect(
      tally(WATCHERS, [vote('ap-south-2', 9), vote('us-east-1', 9), vote('me-central-1', 9)], T)
        .verdict,
    ).toBe('unknown');
    expect(tally([...WATCHERS, 'ap-south-2'], [], T)).toMatchObject({ watchers: 3, quorum: 2 });
    // A vote from the future beyond the freshness window (a watcher's clock far ahead) is not counted.
    expect(tally(WATCHERS, [vote('ap-south-2', 3, -VOTE.freshMs - 1)], T).down).toEqual([]);
  });

  test('quorum: a strict majority', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
  });
});

describe('castVote / readVotes: one item per watcher in the lock table, read strongly', () => {
  let fake: FakeDynamoDb;
  beforeEach(() => {
    fake = new FakeDynamoDb();
  });
  afterEach(() => fake.restore());
  const client = (region: string) => new DynamoDBClient({ region });
  const store = { table: 'meridian-prod-in-runbook-lock', endpoints: ['us-east-1', 'us-west-2'] };

  test('the streak grows while the watcher keeps seeing the region down, and resets when it sees it up', async () => {
    const cast = (sawDown: boolean, at: number) =>
      castVote(store, client, 'ap-south-1', 'ap-south-2', sawDown, at);
    expect((await cast(true, T)).streak).toBe(1);
    expect((await cast(true, T + 10_000)).streak).toBe(2);
    expect((await cast(true, T + 20_000)).streak).toBe(3);
    expect((await cast(false, T + 30_000)).streak).toBe(0);
    expect((await cast(true, T + 40_000)).streak).toBe(1);
    // A gap longer than the freshness window starts over.
    expect((await cast(true, T + 40_000 + VOTE.freshMs + 1)).streak).toBe(1);
    expect(await readVotes(store, client, 'ap-south-1', WATCHERS)).toEqual([
      { watcher: 'ap-south-2', at: T + 40_000 + VOTE.freshMs + 1, streak: 1 },
    ]);
    expect([...fake.table(store.table).keys()]).toEqual([
      JSON.stringify({ pk: { S: 'vote#ap-south-1#ap-south-2' } }),
    ]);
  });

  test('every watcher writes its own item: two majorities, one verdict', async () => {
    for (const w of WATCHERS)
      for (const at of [T, T + 10_000])
        await castVote(store, client, 'ap-south-1', w, w !== 'eu-central-1', at);
    const votes = await readVotes(store, client, 'ap-south-1', WATCHERS);
    expect(tally(WATCHERS, votes, T + 10_000)).toMatchObject({
      down: ['ap-south-2', 'ap-southeast-1'],
      up: ['eu-central-1'],
      verdict: 'down',
    });
  });
});
