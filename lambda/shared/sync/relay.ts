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
  type DispatchDeps,
  type DispatchOptions,
  type DispatchReport,
  dispatchUntilDrained,
} from './dispatch';
import { OUTBOX_CHANNEL } from './migrations';

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
   * due, a notification lost with a dropped connection).
   * @default 1000
   */
  readonly pollMs?: number;
  /** Called after each batch (the audit record). */
  readonly onBatch?: (report: DispatchReport, batch: number) => Promise<void>;
}

/**
 * Listens until the invocation's time runs short, draining the outbox (`o.classes`: the realtime
 * classes) at once on every notification and at least every `pollMs`.
 */
export async function relay(
  deps: DispatchDeps,
  o: DispatchOptions,
  listen: NonNullable<Db['listen']>,
  r: RelayOptions,
): Promise<DispatchReport[]> {
  const reserveMs = r.reserveMs ?? 5000;
  const pollMs = r.pollMs ?? 1000;
  let due = true; // rows committed before the relay started listening
  let wake: (() => void) | undefined;
  const unlisten = await listen(OUTBOX_CHANNEL, () => {
    due = true;
    wake?.();
  });
  const reports: DispatchReport[] = [];
  let n = 0;
  try {
    while (r.remainingMs() > reserveMs) {
      if (!due) {
        const waitMs = Math.min(pollMs, r.remainingMs() - reserveMs);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.max(0, waitMs));
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        wake = undefined;
        if (r.remainingMs() <= reserveMs) break;
      }
      due = false;
      const batches = await dispatchUntilDrained(deps, o, {
        remainingMs: r.remainingMs,
        reserveMs,
        onBatch: async (report) => {
          n += 1;
          await r.onBatch?.(report, n);
        },
      });
      for (const b of batches) {
        reports.push(b);
        if (b.fenced) return reports; // not the writer (or fenced): the schedule will look again
      }
    }
    return reports;
  } finally {
    await unlisten();
  }
}
