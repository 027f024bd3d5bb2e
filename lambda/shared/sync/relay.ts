/**
 * The relay (issue 17 item 2): sends a committed outbox row of a realtime class within
 * milliseconds instead of at the next scheduled run.
 *
 * The mechanism is Postgres's own: the outbox notifies on `meridian_outbox` for every statement
 * that adds rows (migration 4), and a notification is delivered only when its transaction
 * commits. The relay listens on its connection and drains the realtime classes whenever one
 * arrives — the trigger-and-notify half of Debezium's outbox pattern without the broker, and the
 * same claim, residency check, masking and send as the scheduled run (dispatch.ts). The scheduled
 * run stays as the safety net and is the only sender of batch classes, so a bulk load of one of
 * them never delays a realtime class.
 *
 * Why not logical decoding or Aurora's Lambda invocation: decoding needs a long-lived consumer
 * holding a replication slot (a slot left behind by a failed region retains WAL on the writer),
 * and `aws_lambda.invoke` from a trigger runs before the commit (the row is not visible yet) and
 * adds a network call to the application's write. LISTEN needs only the connection the relay has.
 */
import type { Db } from './db';
import {
  DEFAULT_REPLAY_SECONDS,
  type DispatchDeps,
  type DispatchOptions,
  type DispatchReport,
  dispatchRouted,
  route,
} from './dispatch';
import { OUTBOX_CHANNEL } from './migrations';
import { purgeSent, type WriterSeen } from './outbox-store';
import { PLAN_WRITERS } from './writers';

const resolveWriters = (deps: DispatchDeps) => (deps.writers ?? PLAN_WRITERS).resolve(deps.targets);

const sameWriters = (a: readonly WriterSeen[], b: readonly WriterSeen[]) =>
  a.length === b.length && a.every((x, i) => x.writer === b[i]?.writer && x.epoch === b[i]?.epoch);

/** `check`'s answer, reused for `ms`. */
function memo(check: () => Promise<boolean>, ms: number): () => Promise<boolean> {
  let last: { at: number; value: Promise<boolean> } | undefined;
  return () => {
    const now = Date.now();
    if (!last || now - last.at >= ms) last = { at: now, value: check() };
    return last.value;
  };
}

export interface RelayOptions {
  /** Milliseconds left in this invocation. */
  readonly remainingMs: () => number;
  /**
   * Time kept in hand: the relay stops listening with this much left.
   * @default 5000
   */
  readonly reserveMs?: number;
  /**
   * How long the relay waits for a notification before it looks anyway (a row whose retry came
   * due, a notification lost with a dropped connection); also how often it resolves the target
   * cells' writers again and follows a change (dispatch.ts route).
   * @default 1000
   */
  readonly pollMs?: number;
  /**
   * Batches in flight at once: a commit that lands while a batch waits for its target's answer
   * (a round trip between regions, 326 ms for the farthest shipped pair) is claimed and sent by
   * another instead of waiting for it. 32 keeps 50,000 records a minute to that pair within its
   * one-way delay plus tens of ms (bench/sync-latency.ts); 4 left them queueing behind the round
   * trips (p95 1.8 s).
   * @default 32
   */
  readonly concurrency?: number;
  /** Called after each batch (the audit record). */
  readonly onBatch?: (report: DispatchReport, batch: number) => Promise<void>;
}

/**
 * Listens until the invocation's time runs short, claiming and sending the outbox (`o.classes`:
 * the realtime classes) at once on every notification and at least every `pollMs`, with up to
 * `concurrency` batches in flight. Batches run side by side may send two versions of one entity
 * out of order; apply's total order (conflict.ts) keeps the later one, as after any redelivery.
 */
export async function relay(
  deps: DispatchDeps,
  o: DispatchOptions,
  listen: NonNullable<Db['listen']>,
  r: RelayOptions,
): Promise<DispatchReport[]> {
  const reserveMs = r.reserveMs ?? 5000;
  const pollMs = r.pollMs ?? 1000;
  const concurrency = r.concurrency ?? 32;
  // Whether this region may send: asked once a poll period, not once a batch (the database
  // refuses a write once fenced anyway, and the runbook's sign is a DynamoDB read).
  const checks: DispatchDeps = {
    ...deps,
    ...(deps.fenced ? { fenced: memo(deps.fenced, pollMs) } : {}),
    ...(deps.isWriter ? { isWriter: memo(deps.isWriter, pollMs) } : {}),
  };
  let due = true; // rows committed before the relay started listening
  let wake: (() => void) | undefined;
  const unlisten = await listen(OUTBOX_CHANNEL, () => {
    due = true;
    wake?.();
  });
  const reports: DispatchReport[] = [];
  const running = new Set<Promise<void>>();
  let standDown = false;
  let failure: unknown;
  let routing = await route(checks, o);
  let seen = await resolveWriters(checks);
  let routedAt = Date.now();
  const batch = async () => {
    const report = await dispatchRouted(checks, o, routing);
    reports.push(report);
    await r.onBatch?.(report, reports.length);
    if (report.fenced) standDown = true; // not the writer (or fenced): the schedule looks again
    if (report.claimed === o.batchSize) due = true; // more is waiting
  };
  try {
    while (!standDown && failure === undefined && r.remainingMs() > reserveMs) {
      if (Date.now() - routedAt >= pollMs) {
        const now = await resolveWriters(checks);
        if (sameWriters(now, seen))
          await purgeSent(deps.db, o.replaySeconds ?? DEFAULT_REPLAY_SECONDS);
        else {
          // A target's writer changed: following it is a transaction on this connection, so no
          // batch may be in flight meanwhile (their statements would join it).
          await Promise.all(running);
          routing = await route(checks, o);
          seen = now;
        }
        routedAt = Date.now();
      }
      while (due && running.size < concurrency) {
        due = false;
        const p: Promise<void> = batch()
          .catch((err) => {
            failure ??= err;
          })
          .finally(() => {
            running.delete(p);
            wake?.();
          });
        running.add(p);
      }
      const waitMs = Math.max(0, Math.min(pollMs, r.remainingMs() - reserveMs));
      const timedOut = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(true), waitMs);
        wake = () => {
          clearTimeout(timer);
          resolve(false);
        };
      });
      wake = undefined;
      if (timedOut) due = true;
    }
    await Promise.all(running);
    if (failure !== undefined) throw failure;
    return reports;
  } finally {
    await unlisten();
  }
}
