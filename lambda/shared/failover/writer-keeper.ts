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
import { FENCE_MARGIN_MS, type Renewal, WRITER_LEASE } from './writer-lease';

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

/** What a round does, decided from the lease's answer and the database's state. */
export interface KeeperPlan {
  readonly round: Omit<KeeperRound, 'terminated'>;
  /** The sign to write (undefined: it says the right thing already). */
  readonly sign?: Wanted;
  /** What to do to the database, after the sign. */
  readonly db?: 'fence' | 'unfence';
}

/**
 * The decision of one round (the table above), pure: the handler and the drill world execute it.
 * `state` undefined: the database did not answer. Remembers the lease's end in `memory`; the sign
 * is remembered by whoever writes it.
 */
export function planRound(
  at: number,
  renewal: Renewal | undefined,
  state: DbFenceState | undefined,
  memory: KeeperMemory,
): KeeperPlan {
  const wasWriter = memory.expiresAt !== undefined;
  const { lease, wanted } = wantedOf(renewal, memory, at);
  if (renewal?.held) memory.expiresAt = renewal.lease.expiresAt;
  else if (renewal) memory.expiresAt = undefined;
  const holder = renewal && !renewal.held ? renewal.holder?.holder : undefined;
  const base = { at, lease, wanted, ...(holder ? { holder } : {}) };
  const sign = (s: Wanted) => (memory.sign === s ? {} : { sign: s });
  // The database does not answer: a writer that must fence still takes itself out of routing.
  if (!state)
    return {
      round: { ...base, db: 'unreachable' },
      ...(wanted === 'fenced' && wasWriter ? sign('fenced') : {}),
    };
  // A replica is not a writer: it keeps serving reads.
  if (state.replica) return { round: { ...base, db: 'replica' }, ...sign('open') };
  // The sign before the database: it is local and fast, and it pulls Route 53 and Cloudflare away.
  if (wanted === 'fenced')
    return state.fenced
      ? { round: { ...base, db: 'unchanged' }, ...sign('fenced') }
      : { round: { ...base, db: 'fenced' }, ...sign('fenced'), db: 'fence' };
  return state.fenced
    ? { round: { ...base, db: 'unfenced' }, ...sign('open'), db: 'unfence' }
    : { round: { ...base, db: 'unchanged' }, ...sign('open') };
}

/** One round: renew, look at the database, then do what {@link planRound} decides. */
export async function keeperRound(deps: KeeperDeps, memory: KeeperMemory): Promise<KeeperRound> {
  const at = deps.now();
  const renewal = await deps.renew(at).catch(() => undefined);
  const state = await deps.db.state().catch(() => undefined);
  const plan = planRound(at, renewal, state, memory);
  if (plan.sign) {
    await deps.sign(plan.sign);
    memory.sign = plan.sign;
  }
  if (plan.db === 'unfence') await deps.db.unfence();
  if (plan.db !== 'fence') return plan.round;
  const { terminated } = await deps.db.fence();
  return { ...plan.round, terminated };
}

/** Rounds per invocation: the schedule starts the keeper once a minute (6 × 10 s). */
export const KEEPER_ROUNDS = 60 / WRITER_LEASE.renewSeconds;
/** A round's longest run: the renewal, the database's state, then fencing (each one call). */
export const KEEPER_ROUND_BUDGET_MS = 3 * WRITER_LEASE.callTimeoutMs;

/**
 * One invocation: {@link KEEPER_ROUNDS} rounds, {@link WRITER_LEASE}.renewSeconds apart, each
 * started only if it can finish before `deadline` (the Lambda's remaining time).
 */
export async function keep(
  deps: KeeperDeps & { sleep(ms: number): Promise<void> },
  memory: KeeperMemory,
  deadline: number,
): Promise<KeeperRound[]> {
  const rounds: KeeperRound[] = [];
  const first = deps.now();
  for (let i = 0; i < KEEPER_ROUNDS; i++) {
    const due = first + i * WRITER_LEASE.renewSeconds * 1000;
    if (due + KEEPER_ROUND_BUDGET_MS > deadline) break;
    const wait = due - deps.now();
    if (wait > 0) await deps.sleep(wait);
    rounds.push(await keeperRound(deps, memory));
  }
  return rounds;
}
