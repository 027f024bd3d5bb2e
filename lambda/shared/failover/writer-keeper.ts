/**
 * The writer's keeper (issue 25 item 3): in every region of a cell, every
 * {@link WRITER_LEASE}.renewSeconds, renew this region's writer lease (writer-lease.ts) and bring
 * the region's own database and health sign in line with the answer:
 *
 * | lease answer                      | wanted  | database (a writer)        | health    |
 * |-----------------------------------|---------|----------------------------|-----------|
 * | renewed: this region holds it     | open    | unfenced if it was fenced  | as before |
 * | refused: another region holds it  | fenced  | fenced                     | "fenced"  |
 * | no answer, lease ends > margin    | open    | left as it is              | as before |
 * | no answer, lease ends ≤ margin    | fenced  | fenced                     | "fenced"  |
 *
 * The margin ({@link FENCE_MARGIN_MS}) is one round plus two call timeouts: the writer fences
 * before its lease ends, and a taker waits for the end plus the clock-skew bound, so the old
 * writer has stopped before the new one starts. A database that is a replica (an Aurora
 * secondary) is read-only already and left alone. Pure of AWS: the handler
 * (lambda/failover-writer-lease) wires the lock table, the database and the health sign.
 */
import type { DbFenceState } from './db-fence';
import { FENCE_MARGIN_MS, type Renewal } from './writer-lease';

export type Wanted = 'open' | 'fenced';

export interface KeeperDeps {
  /** Renews the lease; throws when no lock endpoint answers. */
  renew(now: number): Promise<Renewal>;
  readonly db: {
    state(): Promise<DbFenceState>;
    fence(): Promise<{ readonly terminated: number }>;
    unfence(): Promise<void>;
  };
  /** The region's health sign (the health endpoint answers "fenced" while it says so). */
  sign(wanted: Wanted): Promise<void>;
  now(): number;
}

/** What a keeper remembers between rounds (module scope in the handler). */
export interface KeeperMemory {
  /** The end of the lease this region last renewed. */
  expiresAt?: number;
  /** The sign last written. */
  sign?: Wanted;
}

export interface KeeperRound {
  readonly at: number;
  readonly lease: 'held' | 'other' | 'no-answer';
  readonly wanted: Wanted;
  /** What was done to the database (`replica`: nothing to do; `unreachable`: could not look). */
  readonly db: 'fenced' | 'unfenced' | 'unchanged' | 'replica' | 'unreachable';
  readonly terminated?: number;
  /** The other holder, when the lease is another region's. */
  readonly holder?: string;
}

/** What the lease answer asks of the region (the table above). */
export function wantedOf(
  renewal: Renewal | undefined,
  memory: KeeperMemory,
  now: number,
): { readonly lease: KeeperRound['lease']; readonly wanted: Wanted } {
  if (renewal?.held) return { lease: 'held', wanted: 'open' };
  if (renewal) return { lease: 'other', wanted: 'fenced' };
  const open = memory.expiresAt !== undefined && now + FENCE_MARGIN_MS < memory.expiresAt;
  return { lease: 'no-answer', wanted: open ? 'open' : 'fenced' };
}

/**
 * One round: renew, then fence or unfence the database and set the sign as wanted. A region whose
 * database is a replica is not a writer: its sign stays open (it serves reads) and nothing is done.
 */
export async function keeperRound(deps: KeeperDeps, memory: KeeperMemory): Promise<KeeperRound> {
  const at = deps.now();
  const wasWriter = memory.expiresAt !== undefined;
  let renewal: Renewal | undefined;
  try {
    renewal = await deps.renew(at);
  } catch {
    renewal = undefined;
  }
  const { lease, wanted } = wantedOf(renewal, memory, at);
  if (renewal?.held) memory.expiresAt = renewal.lease.expiresAt;
  else if (renewal) memory.expiresAt = undefined;
  const holder = renewal && !renewal.held ? renewal.holder?.holder : undefined;
  const base = { at, lease, wanted, ...(holder ? { holder } : {}) };
  const sign = async (s: Wanted) => {
    if (memory.sign === s) return;
    await deps.sign(s);
    memory.sign = s;
  };
  let state: DbFenceState;
  try {
    state = await deps.db.state();
  } catch {
    // The database does not answer: a writer that must fence still takes itself out of routing.
    if (wanted === 'fenced' && wasWriter) await sign('fenced');
    return { ...base, db: 'unreachable' };
  }
  if (state.replica) {
    await sign('open');
    return { ...base, db: 'replica' };
  }
  if (wanted === 'fenced') {
    // The sign first: it is local and fast, and it is what pulls Route 53 and Cloudflare away.
    await sign('fenced');
    if (state.fenced) return { ...base, db: 'unchanged' };
    const { terminated } = await deps.db.fence();
    return { ...base, db: 'fenced', terminated };
  }
  if (state.fenced) await deps.db.unfence();
  await sign('open');
  return { ...base, db: state.fenced ? 'unfenced' : 'unchanged' };
}
