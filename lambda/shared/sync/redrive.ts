/**
 * Redrive: the way back for parked sync records once their cause is fixed (a failed-back region,
 * a target that is up again, an apply bug fixed). Each dead letter is classified by what parked it:
 * - dispatch parked it (the source could not deliver to `targets`): the outbox row is the source of
 *   truth, so it is set pending again and the next dispatch checks, masks and sends it afresh;
 * - apply parked it (fenced region, apply failed n times): the inbound message is rebuilt and
 *   returned to this region's inbound queue, where apply's checks run on it again;
 * - SQS moved it (received maxReceiveCount times without success): returned as it is.
 * Residency rejections, malformed messages and anything else are held for a person, never redriven.
 * A dead letter is deleted only after its record is back in the outbox or the inbound queue, so a
 * redrive that dies midway loses nothing; what it repeats, apply ignores (idempotent by event id).
 */
import type { Db } from './db';
import type { OutboundMessage, Transport } from './dispatch';
import {
  type ChangeEvent,
  entityId,
  type InboundEnvelope,
  parseEvent,
  parseMessage,
} from './events';
import { unpark } from './outbox-store';

/** What a redrive does with one dead letter. */
export type DeadLetter =
  | { readonly action: 'unpark'; readonly eventId: string; readonly reason: string }
  | {
      readonly action: 'return';
      readonly eventId: string;
      readonly groupId: string;
      readonly body: string;
      readonly reason: string;
    }
  | {
      readonly action: 'hold';
      readonly eventId?: string;
      readonly reason: string;
      /** Why it is not redriven. */
      readonly why: string;
    };

const HOLD_PREFIXES: readonly [string, string][] = [
  ['residency:', 'the residency plan does not allow this record here: investigate, never redrive'],
  ['malformed:', 'the message is malformed: it would fail the same way again'],
];

/** Classifies a dead letter's body (a parked record, or an inbound message SQS moved). */
export function classify(body: string): DeadLetter {
  let raw: Record<string, unknown>;
  try {
    raw = (JSON.parse(body) ?? {}) as Record<string, unknown>;
  } catch {
    return { action: 'hold', reason: 'unreadable', why: 'the body is not JSON' };
  }
  if (raw.v === 1) {
    try {
      const m = parseMessage(body);
      return {
        action: 'return',
        eventId: m.event.eventId,
        groupId: entityId(m.event),
        body,
        reason: 'received maxReceiveCount times without success (moved by SQS)',
      };
    } catch (err) {
      return { action: 'hold', reason: 'unreadable', why: (err as Error).message };
    }
  }
  const reason = typeof raw.reason === 'string' ? raw.reason : '';
  let event: ChangeEvent;
  try {
    event = parseEvent(raw.event);
  } catch (err) {
    return { action: 'hold', reason, why: `not a parked sync record: ${(err as Error).message}` };
  }
  const { eventId } = event;
  for (const [prefix, why] of HOLD_PREFIXES)
    if (reason.startsWith(prefix)) return { action: 'hold', eventId, reason, why };
  const targets = Array.isArray(raw.targets) ? raw.targets : [];
  if (targets.length > 0) return { action: 'unpark', eventId, reason };
  const inbound = raw.inbound as InboundEnvelope | undefined;
  if (!inbound)
    return { action: 'hold', eventId, reason, why: 'parked without its inbound envelope' };
  try {
    const message = JSON.stringify({ v: 1, event, ...inbound });
    parseMessage(message);
    return { action: 'return', eventId, groupId: entityId(event), body: message, reason };
  } catch (err) {
    return { action: 'hold', eventId, reason, why: (err as Error).message };
  }
}

export interface ReceivedDeadLetter {
  /** SQS message id: unique per dead letter. */
  readonly id: string;
  readonly receipt: string;
  readonly body: string;
}

/** The region's sync dead-letter queue, as a redrive uses it. */
export interface DeadLetterQueue {
  /** Up to 10 dead letters, kept invisible to others until released or deleted. */
  receive(): Promise<ReceivedDeadLetter[]>;
  remove(receipts: readonly string[]): Promise<void>;
  /** Makes dead letters visible again at once (held, filtered out, or not redriven). */
  release(receipts: readonly string[]): Promise<void>;
}

export interface RedriveDeps {
  readonly region: string;
  readonly db: Db;
  readonly deadLetters: DeadLetterQueue;
  /** Sends to this region's inbound queue (the target passed is `region`). */
  readonly inbound: Transport;
  /**
   * Whether the failover runbook fenced this region; a fenced region redrives nothing.
   * @default - never fenced
   */
  readonly fenced?: () => Promise<boolean>;
}

export interface RedriveOptions {
  /** Only dead letters whose reason contains this text. @default - every one that can be redriven */
  readonly reasonContains?: string;
  /** Dead letters to examine at most. @default 1000 */
  readonly max?: number;
  /** Classify and count, change nothing. @default false */
  readonly dryRun?: boolean;
}

export interface RedriveReport {
  readonly region: string;
  readonly dryRun: boolean;
  /** True when the region is fenced: nothing was examined. */
  readonly fenced: boolean;
  readonly examined: number;
  /** Outbox rows set pending again (dispatch sends them on its next run). */
  readonly unparked: number;
  /** Dead letters whose outbox row was no longer parked (delivered since, or already redriven). */
  readonly alreadySettled: number;
  /** Messages returned to the inbound queue. */
  readonly returned: number;
  /** Left in the queue because the reason did not match `reasonContains`. */
  readonly skipped: number;
  /** Left in the queue for a person, with why (the first 100). */
  readonly held: readonly { eventId?: string; reason: string; why: string }[];
  readonly heldCount: number;
  /** Left in the queue because sending or deleting failed; a later redrive retries them. */
  readonly failed: readonly { id: string; error: string }[];
}

const HELD_LISTED = 100;

/**
 * Redrives the region's dead letters: unparks outbox rows, returns inbound messages, holds the
 * rest. Messages of an entity behind a held one stay in the queue (FIFO order per entity).
 */
export async function redrive(
  deps: RedriveDeps,
  options: RedriveOptions = {},
): Promise<RedriveReport> {
  const max = options.max ?? 1000;
  const dryRun = options.dryRun ?? false;
  const report = {
    region: deps.region,
    dryRun,
    fenced: false,
    examined: 0,
    unparked: 0,
    alreadySettled: 0,
    returned: 0,
    skipped: 0,
    held: [] as { eventId?: string; reason: string; why: string }[],
    heldCount: 0,
    failed: [] as { id: string; error: string }[],
  };
  if ((await deps.fenced?.()) ?? false) return { ...report, fenced: true };
  const keep: string[] = [];
  const seen = new Set<string>();
  try {
    while (report.examined < max) {
      const batch = (await deps.deadLetters.receive()).filter((d) => !seen.has(d.id));
      if (batch.length === 0) break;
      const unparks: { d: ReceivedDeadLetter; eventId: string }[] = [];
      const returns: { d: ReceivedDeadLetter; message: OutboundMessage }[] = [];
      for (const d of batch) {
        seen.add(d.id);
        if (report.examined >= max) {
          keep.push(d.receipt);
          continue;
        }
        report.examined += 1;
        const c = classify(d.body);
        if (c.action === 'hold') {
          report.heldCount += 1;
          if (report.held.length < HELD_LISTED)
            report.held.push({
              ...(c.eventId ? { eventId: c.eventId } : {}),
              reason: c.reason,
              why: c.why,
            });
          keep.push(d.receipt);
        } else if (options.reasonContains && !c.reason.includes(options.reasonContains)) {
          report.skipped += 1;
          keep.push(d.receipt);
        } else if (dryRun) {
          if (c.action === 'unpark') report.unparked += 1;
          else report.returned += 1;
          keep.push(d.receipt);
        } else if (c.action === 'unpark') unparks.push({ d, eventId: c.eventId });
        else
          returns.push({
            d,
            // A fresh deduplication id: the original one may still be inside SQS's 5-minute
            // window, where the inbound queue would accept the message and silently drop it.
            message: { id: `${c.eventId}:${d.id}`.slice(0, 128), groupId: c.groupId, body: c.body },
          });
      }
      const done: string[] = [];
      if (unparks.length > 0) {
        const back = new Set(
          await unpark(
            deps.db,
            unparks.map((u) => u.eventId),
          ),
        );
        for (const u of unparks) {
          if (back.has(u.eventId)) report.unparked += 1;
          else report.alreadySettled += 1;
          done.push(u.d.receipt);
        }
      }
      if (returns.length > 0) {
        let failed: Map<string, string>;
        try {
          failed = (
            await deps.inbound.send(
              deps.region,
              returns.map((r) => r.message),
            )
          ).failed;
        } catch (err) {
          failed = new Map(returns.map((r) => [r.message.id, (err as Error).message]));
        }
        for (const r of returns) {
          const error = failed.get(r.message.id);
          if (error) {
            report.failed.push({ id: r.d.id, error });
            keep.push(r.d.receipt);
          } else {
            report.returned += 1;
            done.push(r.d.receipt);
          }
        }
      }
      if (done.length > 0) await deps.deadLetters.remove(done);
    }
  } finally {
    if (keep.length > 0) await deps.deadLetters.release(keep);
  }
  return report;
}

export class RedriveRequestError extends Error {
  override readonly name = 'RedriveRequestError';
}

/**
 * Reads a redrive request (the invocation payload): `{ "reasonContains"?: string, "max"?: 1..100000,
 * "dryRun"?: boolean }`; throws one error naming every bad field.
 */
export function parseRedriveRequest(raw: unknown): RedriveOptions {
  const r = (raw ?? {}) as Record<string, unknown>;
  const problems: string[] = [];
  if (typeof r !== 'object' || Array.isArray(r)) problems.push('expected a JSON object');
  const known = new Set(['reasonContains', 'max', 'dryRun']);
  for (const k of Object.keys(r))
    if (!known.has(k)) problems.push(`${k}: unknown field; expected reasonContains, max or dryRun`);
  const { reasonContains, max, dryRun } = r;
  if (reasonContains !== undefined && (typeof reasonContains !== 'string' || reasonContains === ''))
    problems.push(`reasonContains: got ${JSON.stringify(reasonContains)}; expected non-empty text`);
  if (
    max !== undefined &&
    !(Number.isInteger(max) && (max as number) >= 1 && (max as number) <= 100_000)
  )
    problems.push(`max: got ${JSON.stringify(max)}; expected an integer from 1 to 100000`);
  if (dryRun !== undefined && typeof dryRun !== 'boolean')
    problems.push(`dryRun: got ${JSON.stringify(dryRun)}; expected true or false`);
  if (problems.length > 0)
    throw new RedriveRequestError(`invalid redrive request:\n  ${problems.join('\n  ')}`);
  return {
    ...(reasonContains !== undefined ? { reasonContains: reasonContains as string } : {}),
    ...(max !== undefined ? { max: max as number } : {}),
    ...(dryRun !== undefined ? { dryRun: dryRun as boolean } : {}),
  };
}
