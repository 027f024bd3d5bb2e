/**
 * The watchers' votes: whether a region is down is decided by a majority of the regions watching it
 * (lib/failover/watchers.ts), never by one observer. Each watcher keeps one item per watched region
 * in that region's cell lock table (`vote#<watched>#<watcher>`: strongly consistent and outside the
 * pair it arbitrates, lib/failover/lock-plan.ts) with how many rounds in a row it has seen the
 * region down. Every watcher counts the votes the same way (`tally`): a region is down when a
 * majority of its watchers have fresh votes of at least `VOTE.streak` rounds. One watcher cut off
 * from the region (its own egress, one network path) is one vote; a watcher that cannot reach the
 * store casts none, and a missing vote never counts as down.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { atFirstEndpoint } from './endpoints';

export const VOTE = {
  /**
   * Rounds in a row (one per watch round, 10 s apart) a watcher must see the region down before
   * its vote is "down". Two, not the three of a lone observer's signal alarm: a majority of
   * independent observers each seeing two failed rounds is the stronger evidence, and the page
   * comes one period sooner.
   */
  streak: 2,
  /** A vote older than this is not counted: three watch periods (the watcher went silent). */
  freshMs: 30_000,
  /** How long one read or write of the store may take within a watch round. */
  callTimeoutMs: 1_500,
} as const;

/** Where the votes about a region are kept: its cell's lock table and the endpoints to call. */
export interface VoteStore {
  readonly table: string;
  /** Lock endpoints for the caller's region, in order (each call is idempotent for its caller). */
  readonly endpoints: readonly string[];
}

export interface Vote {
  readonly watcher: string;
  /** Epoch ms of the round that cast it. */
  readonly at: number;
  /** Rounds in a row the watcher has seen the region down (0: it saw it up). */
  readonly streak: number;
}

export interface Tally {
  readonly watchers: number;
  /** Votes needed: a majority of the watchers. */
  readonly quorum: number;
  /** Watchers whose fresh vote says down (streak ≥ VOTE.streak). */
  readonly down: readonly string[];
  /** Watchers whose fresh vote says up (streak 0). */
  readonly up: readonly string[];
  readonly verdict: 'down' | 'up' | 'unknown';
}

/** A strict majority of `watchers`. */
export const quorumOf = (watchers: number): number => Math.floor(watchers / 2) + 1;

/** Counts the votes of `watchers` at `now` (votes of regions that are not watchers are ignored). */
export function tally(watchers: readonly string[], votes: readonly Vote[], now: number): Tally {
  const fresh = (v: Vote | undefined): v is Vote =>
    v !== undefined && now - v.at <= VOTE.freshMs && v.at <= now + VOTE.freshMs;
  const byWatcher = new Map(votes.map((v) => [v.watcher, v]));
  const down: string[] = [];
  const up: string[] = [];
  for (const w of [...new Set(watchers)].sort()) {
    const v = byWatcher.get(w);
    if (!fresh(v)) continue;
    if (v.streak >= VOTE.streak) down.push(w);
    else if (v.streak === 0) up.push(w);
  }
  const quorum = quorumOf(new Set(watchers).size);
  const verdict = down.length >= quorum ? 'down' : up.length >= quorum ? 'up' : 'unknown';
  return { watchers: new Set(watchers).size, quorum, down, up, verdict };
}

const key = (region: string, watcher: string) => ({ pk: { S: `vote#${region}#${watcher}` } });

/** Runs `op` at the first endpoint of `store` that answers; throws the last error if none does. */
function atStore<T>(
  store: VoteStore,
  client: (region: string) => DynamoDBClient,
  op: (ddb: DynamoDBClient, abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  return atFirstEndpoint(store.endpoints, (region) =>
    op(client(region), AbortSignal.timeout(VOTE.callTimeoutMs)),
  );
}

async function readVote(
  ddb: DynamoDBClient,
  signal: AbortSignal,
  table: string,
  region: string,
  watcher: string,
): Promise<Vote | undefined> {
  const out = await ddb.send(
    new GetItemCommand({ TableName: table, Key: key(region, watcher), ConsistentRead: true }),
    { abortSignal: signal },
  );
  const at = Number(out.Item?.at?.N);
  const streak = Number(out.Item?.streak?.N);
  return Number.isFinite(at) && Number.isFinite(streak) ? { watcher, at, streak } : undefined;
}

/** Every watcher's vote about `region`, read strongly consistently (missing ones left out). */
export async function readVotes(
  store: VoteStore,
  client: (region: string) => DynamoDBClient,
  region: string,
  watchers: readonly string[],
): Promise<Vote[]> {
  const votes = await Promise.all(
    watchers.map((w) =>
      atStore(store, client, (ddb, signal) => readVote(ddb, signal, store.table, region, w)),
    ),
  );
  return votes.filter((v): v is Vote => v !== undefined);
}

/**
 * Casts `watcher`'s vote about `region` for the round at `now`: its streak grows by one when it saw
 * the region down and its previous vote is fresh, starts at one when that vote is stale, and is 0
 * when it saw the region up. Only `watcher` writes its own item, so read-then-write is safe.
 */
export async function castVote(
  store: VoteStore,
  client: (region: string) => DynamoDBClient,
  region: string,
  watcher: string,
  sawDown: boolean,
  now: number,
): Promise<Vote> {
  return atStore(store, client, async (ddb, signal) => {
    const previous = await readVote(ddb, signal, store.table, region, watcher);
    const carried = previous && now - previous.at <= VOTE.freshMs ? previous.streak : 0;
    const vote = { watcher, at: now, streak: sawDown ? carried + 1 : 0 };
    await ddb.send(
      new UpdateItemCommand({
        TableName: store.table,
        Key: key(region, watcher),
        UpdateExpression: 'SET #at = :at, streak = :streak',
        ExpressionAttributeNames: { '#at': 'at' },
        ExpressionAttributeValues: {
          ':at': { N: String(vote.at) },
          ':streak': { N: String(vote.streak) },
        },
      }),
      { abortSignal: signal },
    );
    return vote;
  });
}
