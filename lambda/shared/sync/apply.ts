/**
 * The apply run, target side, for one batch of inbound messages: parse (malformed → dead-letter
 * queue with the reason, never retried), re-check residency (defence in depth: data that must not
 * be here is rejected to the dead-letter queue and counted for the alarm), apply every valid event
 * in one transaction with conflict resolution, then invalidate the touched cache keys. A batch
 * that fails is retried by SQS; once a message has been received `maxAttempts` times it is parked
 * with the error instead, so its reason is kept.
 */
import type { Decision, ResidencyIndex } from '../residency-plan';
import type { Db } from './db';
import { MAX_MESSAGE_BYTES, type ParkedRecord, type ParkingLot, type Transport } from './dispatch';
import {
  type ChangeEvent,
  entityId,
  type InboundEnvelope,
  MalformedMessageError,
  parseMessage,
  type SyncMessage,
} from './events';
import { MAX_DRIFT_MS, tooFarAhead } from './hlc';
import { type Hop, type LineageRecord, ruleOf } from './lineage';
import { maskingFault } from './masking';
import { type ApplyStats, applyBatch } from './replica-store';
import { recordFacts } from './routes';

export interface InboundMessage {
  readonly messageId: string;
  readonly body: string;
  /** SQS ApproximateReceiveCount. */
  readonly receiveCount: number;
}

/** Drops cached copies of entities (`type:key`) after their replica rows changed. */
export interface Invalidator {
  invalidate(entityIds: readonly string[]): Promise<void>;
}

export interface ApplyDeps {
  readonly db: Db;
  readonly index: ResidencyIndex;
  readonly region: string;
  readonly parking: ParkingLot;
  readonly invalidator: Invalidator;
  readonly maxAttempts: number;
  /**
   * Whether the failover runbook fenced this region; a fenced region applies nothing, and SQS
   * redelivers (then parks, with the reason) what it received.
   * @default - never fenced
   */
  readonly fenced?: () => Promise<boolean>;
  /**
   * How far a record's HLC may be ahead of this region's clock (ms); further ahead, it is parked,
   * never applied (a clock years ahead would win its entity for good).
   * @default DEFAULT_MAX_CLOCK_AHEAD_MS
   */
  readonly maxClockAheadMs?: number;
  /**
   * Whether this region is its cell's writer now, and how to reach the writer when it is not: a
   * region that is not the writer (an Aurora secondary, or a writer that fenced itself) applies
   * nothing and forwards what reaches it — checked first, as if hostile — to the cell's writer.
   * Senders that still address the old writer, and messages it held through an outage, reach the
   * new one this way, with no redrive.
   * @default - always the writer
   */
  readonly follow?: Follow;
}

export interface Follow {
  isWriter(): Promise<boolean>;
  /** The cell's writer now (writers.ts). */
  writer(): Promise<string>;
  readonly transport: Transport;
}

/** How far ahead of the receiver a record's clock may be, by default: HlcClock's own bound. */
export const DEFAULT_MAX_CLOCK_AHEAD_MS = MAX_DRIFT_MS;

/**
 * The largest inbound body apply reads: the same SQS limit dispatch sends within (the queues'
 * MaximumMessageSize, SQS's default; a queue may raise it to 1 MiB, Meridian's do not). A larger
 * one is parked at once as a reference (its ids, no payload), so the parking envelope fits.
 */
export const MAX_BODY_BYTES = MAX_MESSAGE_BYTES;

export interface ApplyReport {
  readonly region: string;
  readonly received: number;
  /** Message ids SQS must redeliver. */
  readonly failedMessageIds: readonly string[];
  readonly stats?: ApplyStats;
  readonly malformed: number;
  /** Refused by the checks on the sender: size, residency, sending cell, clock. */
  readonly rejected: number;
  readonly parked: readonly { messageId: string; reason: string }[];
  readonly error?: string;
  /** Largest now − HLC wall time among applied events (ms). */
  readonly maxLagMs?: number;
  /** The same, among events of the realtime classes (the critical alarm's metric). */
  readonly maxRealtimeLagMs?: number;
  /** This region is not the writer: messages sent on to the writer, by region. */
  readonly forwarded?: Readonly<Record<string, number>>;
  /** What became of each message that parsed (lineage.ts): kept in the run's audit object. */
  readonly records: readonly LineageRecord[];
}

/** Why a parsed message must not be applied here; undefined when it may. */
export function residencyFault(
  index: ResidencyIndex,
  region: string,
  m: { event: ChangeEvent; mode: 'full' | 'masked' },
  d: Decision = index.decide(m.event.dataClass, m.event.homeRegion, region, recordFacts(m.event)),
): string | undefined {
  if (!d.allowed) return `residency: ${d.reason}`;
  if (d.mode === 'masked' && m.mode !== 'masked')
    return `residency: ${m.event.dataClass} may reach ${region} only masked, got a full record`;
  return undefined;
}

/**
 * Why the sender must not have sent this record; undefined when it may. A record is sent by a
 * region of its home cell (its writer, whichever region that is now): a record from anywhere else
 * is refused, whatever its `homeRegion` says. Names regions and cells only, never a value.
 */
export function senderFault(index: ResidencyIndex, m: SyncMessage): string | undefined {
  const home = index.cellOf(m.event.homeRegion)?.jurisdiction;
  const sender = index.cellOf(m.sourceRegion)?.jurisdiction;
  if (home === undefined) return 'sender: the record names a home region in no cell of the plan';
  if (sender !== home)
    return `sender: ${m.sourceRegion} is not a region of the record's home cell (${home}); only that cell's writer sends its records`;
  return undefined;
}

/** Why the record's clock must not be trusted here; undefined when it may. */
export function clockFault(
  event: ChangeEvent,
  region: string,
  now: number,
  maxAheadMs: number,
): string | undefined {
  return tooFarAhead(event.hlc, now, maxAheadMs)
    ? `hlc: the record's clock is more than ${maxAheadMs} ms ahead of ${region}'s`
    : undefined;
}

/**
 * What an error may say in a reason or a report: its SQLSTATE or name, never its message (a
 * database error's message can quote a value: `invalid input syntax for type …: "…"`).
 */
export const safeErrorText = (err: unknown): string => {
  const e = err as { code?: unknown; name?: unknown };
  return typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)
    ? `SQLSTATE ${e.code}`
    : String(e.name ?? 'Error');
};

/** What a park keeps of a message beside its event (built only when a message is parked). */
const envelopeOf = (m: SyncMessage): InboundEnvelope => ({
  mode: m.mode,
  maskedFields: m.maskedFields,
  sourceRegion: m.sourceRegion,
  ...(m.lineage ? { lineage: m.lineage } : {}),
});

/** An oversize message as a reference: its event's ids without the payload, when it parses. */
function referenceOf(m: InboundMessage): ChangeEvent {
  try {
    return { ...parseMessage(m.body).event, payload: {} };
  } catch {
    return { ...unparsed(m.messageId, ''), payload: {} };
  }
}

/** A stand-in event for a body that did not parse, so it can be parked with its reason. */
function unparsed(messageId: string, body: string): ChangeEvent {
  return {
    eventId: '00000000-0000-4000-8000-000000000000',
    entityType: 'unparsed',
    entityKey: messageId,
    dataClass: 'unknown',
    homeRegion: 'unknown',
    originRegion: 'unknown',
    hlc: { wall: 0, logical: 0 },
    op: 'upsert',
    payload: { body: body.slice(0, 4096) },
  };
}

export async function applyMessages(
  deps: ApplyDeps,
  messages: readonly InboundMessage[],
  now: () => number = Date.now,
): Promise<ApplyReport> {
  const toPark: (ParkedRecord & { messageId: string })[] = [];
  const valid: {
    messageId: string;
    event: ChangeEvent;
    message: SyncMessage;
    receiveCount: number;
    body: string;
  }[] = [];
  let malformed = 0;
  let rejected = 0;
  /** Each parsed message's event and the plan's word on it here, for its lineage record. */
  const trail = new Map<
    string,
    { message: SyncMessage; rule: Pick<Hop, 'decision' | 'rule' | 'mode' | 'basis'> }
  >();
  const maxAhead = deps.maxClockAheadMs ?? DEFAULT_MAX_CLOCK_AHEAD_MS;
  for (const m of messages) {
    const bytes = Buffer.byteLength(m.body, 'utf8');
    if (bytes > MAX_BODY_BYTES) {
      rejected += 1;
      toPark.push({
        messageId: m.messageId,
        event: referenceOf(m),
        reason: `oversize: the body is ${bytes} bytes, over the ${MAX_BODY_BYTES} apply reads; parked as a reference, its payload left out`,
        targets: [],
      });
      continue;
    }
    try {
      const parsed = parseMessage(m.body);
      const e = parsed.event;
      // The plan's word on this record here: checked, and named in its lineage record.
      const decision = deps.index.decide(e.dataClass, e.homeRegion, deps.region, recordFacts(e));
      const fault =
        senderFault(deps.index, parsed) ??
        residencyFault(deps.index, deps.region, parsed, decision) ??
        (parsed.mode === 'masked'
          ? maskingFault(
              deps.index.rulesOf(parsed.event.dataClass)?.masking,
              deps.index.jurisdictionOf(deps.region) ?? '',
              parsed.event.payload,
            )
          : undefined) ??
        clockFault(parsed.event, deps.region, now(), maxAhead);
      trail.set(m.messageId, {
        message: parsed,
        rule: fault
          ? { decision: 'denied', rule: fault }
          : ruleOf(deps.index, e.dataClass, e.homeRegion, deps.region, decision),
      });
      if (fault) {
        rejected += 1;
        toPark.push({ messageId: m.messageId, event: parsed.event, reason: fault, targets: [] });
      } else
        valid.push({
          messageId: m.messageId,
          event: parsed.event,
          message: parsed,
          receiveCount: m.receiveCount,
          body: m.body,
        });
    } catch (err) {
      if (!(err instanceof MalformedMessageError)) throw err;
      malformed += 1;
      toPark.push({
        messageId: m.messageId,
        event: unparsed(m.messageId, m.body),
        reason: `malformed: ${err.message}`,
        targets: [],
      });
    }
  }

  let failed: string[] = [];
  let stats: ApplyStats | undefined;
  let error: string | undefined;
  let forwarded: Record<string, number> | undefined;
  let forwardedTo: string | undefined;
  /** Not applied here now: SQS redelivers it, or it is parked with `why` once tried enough. */
  const holdBack = (v: (typeof valid)[number], why: string) => {
    if (v.receiveCount >= deps.maxAttempts)
      toPark.push({
        messageId: v.messageId,
        event: v.event,
        inbound: envelopeOf(v.message),
        reason: why,
        targets: [],
      });
    else failed.push(v.messageId);
  };
  const fenced = valid.length > 0 && ((await deps.fenced?.()) ?? false);
  const standby =
    !fenced && valid.length > 0 && deps.follow !== undefined && !(await deps.follow.isWriter());
  if (fenced) {
    error = `${deps.region} is fenced by the failover runbook: not applying`;
    for (const v of valid) holdBack(v, error);
  } else if (standby && deps.follow) {
    const writer = await deps.follow.writer();
    if (writer === deps.region) {
      // The lease names this region, its database does not take writes yet: a promotion is
      // under way (or this writer fenced itself). Wait for it.
      error = `${deps.region} holds its cell's writer lease but its database is read-only: not applying`;
      for (const v of valid) holdBack(v, error);
    } else {
      let sendFailed: Map<string, string>;
      try {
        ({ failed: sendFailed } = await deps.follow.transport.send(
          writer,
          valid.map((v) => ({ id: v.event.eventId, groupId: entityId(v.event), body: v.body })),
        ));
      } catch (err) {
        sendFailed = new Map(valid.map((v) => [v.event.eventId, safeErrorText(err)]));
      }
      const sent = valid.filter((v) => !sendFailed.has(v.event.eventId));
      if (sent.length > 0) forwarded = { [writer]: sent.length };
      forwardedTo = writer;
      for (const v of valid) {
        const why = sendFailed.get(v.event.eventId);
        if (why === undefined) continue;
        error = `${deps.region} is not its cell's writer; forwarding to ${writer} failed: ${why}`;
        holdBack(v, error);
      }
    }
  } else if (valid.length > 0) {
    const strategyOf = (c: string) => deps.index.rulesOf(c)?.conflict ?? 'lww';
    const run = async (batch: typeof valid) => {
      const s = await applyBatch(
        deps.db,
        batch.map((v) => v.event),
        strategyOf,
      );
      await deps.invalidator.invalidate(s.touched);
      return s;
    };
    // Nothing is lost: retried (a re-run is a no-op by state), or parked with the error once
    // the message has been tried maxAttempts times.
    const giveUp = (v: (typeof valid)[number], why: string) =>
      holdBack(v, `apply failed ${v.receiveCount} time(s): ${why}`);
    try {
      stats = await run(valid);
    } catch (err) {
      error = safeErrorText(err);
      if (valid.length === 1) giveUp(valid[0] as (typeof valid)[number], error);
      else {
        // One bad event must not hold back the others: apply each on its own.
        const parts: ApplyStats[] = [];
        for (const v of valid) {
          try {
            parts.push(await run([v]));
          } catch (e) {
            giveUp(v, safeErrorText(e));
          }
        }
        stats = sumStats(parts);
      }
    }
  }
  if (toPark.length > 0) {
    try {
      await deps.parking.park(toPark);
    } catch {
      // Cannot park: let SQS redeliver them (its redrive policy is the last resort).
      failed = [...failed, ...toPark.map((p) => p.messageId)];
      toPark.length = 0;
    }
  }
  const applied = stats && stats.fresh > 0 ? valid : [];
  const walls = applied.map((v) => v.event.hlc.wall);
  const realtime = new Set(deps.index.realtimeClasses());
  const realtimeWalls = applied
    .filter((v) => realtime.has(v.event.dataClass))
    .map((v) => v.event.hlc.wall);
  return {
    region: deps.region,
    received: messages.length,
    failedMessageIds: failed,
    ...(stats ? { stats } : {}),
    malformed,
    rejected,
    parked: toPark.map((p) => ({ messageId: p.messageId, reason: p.reason })),
    ...(error ? { error } : {}),
    ...(walls.length > 0 ? { maxLagMs: now() - Math.min(...walls) } : {}),
    ...(realtimeWalls.length > 0 ? { maxRealtimeLagMs: now() - Math.min(...realtimeWalls) } : {}),
    ...(forwarded ? { forwarded } : {}),
    records: lineageOf(deps.region, trail, {
      failed: new Set(failed),
      parked: new Map(toPark.map((p) => [p.messageId, p.reason])),
      error,
      forwardedTo,
      outcomes: stats?.outcomes ?? {},
    }),
  };
}

/** Each parsed message's lineage record, once the run's outcome is known. */
function lineageOf(
  region: string,
  trail: ReadonlyMap<string, { message: SyncMessage; rule: Pick<Hop, 'decision' | 'rule'> }>,
  end: {
    failed: ReadonlySet<string>;
    parked: ReadonlyMap<string, string>;
    error: string | undefined;
    forwardedTo: string | undefined;
    outcomes: ApplyStats['outcomes'];
  },
): LineageRecord[] {
  return [...trail].map(([messageId, { message: m, rule }]) => {
    const e = m.event;
    const hop = { target: region, ...rule, mode: m.mode, maskedFields: m.maskedFields };
    const parkedWhy = end.parked.get(messageId);
    const outcome: Pick<Hop, 'outcome' | 'reason' | 'forwardedTo'> = end.failed.has(messageId)
      ? { outcome: 'retrying', ...(end.error ? { reason: end.error } : {}) }
      : parkedWhy !== undefined
        ? { outcome: 'parked', reason: parkedWhy }
        : end.forwardedTo !== undefined
          ? { outcome: 'forwarded', forwardedTo: end.forwardedTo }
          : { outcome: end.outcomes[e.eventId] ?? 'duplicate' };
    return {
      eventId: e.eventId,
      ...(m.lineage ? { entity: m.lineage.entity } : {}),
      dataClass: e.dataClass,
      op: e.op,
      homeRegion: e.homeRegion,
      sourceRegion: m.sourceRegion,
      ...(m.lineage ? { correlationId: m.lineage.correlationId } : {}),
      consent: e.consent === true,
      hops: [{ ...hop, ...outcome }],
    };
  });
}

/**
 * What the audit object of an apply run keeps: counts, event-free reasons and message ids — not the
 * entity ids it touched (an entity key can be personal data: a customer's email as its key).
 */
export interface ApplyAudit extends Omit<ApplyReport, 'stats'> {
  readonly stats?: Omit<ApplyStats, 'touched' | 'outcomes'> & { readonly entitiesTouched: number };
}

export function applyAudit(report: ApplyReport): ApplyAudit {
  const { stats, ...rest } = report;
  if (!stats) return rest;
  const { touched, outcomes: _byEvent, ...counts } = stats;
  return { ...rest, stats: { ...counts, entitiesTouched: touched.length } };
}

function sumStats(parts: readonly ApplyStats[]): ApplyStats {
  const sum = (
    k: 'fresh' | 'duplicates' | 'written' | 'conflicts' | 'superseded' | 'reviews' | 'erased',
  ) => parts.reduce((n, p) => n + p[k], 0);
  return {
    fresh: sum('fresh'),
    duplicates: sum('duplicates'),
    written: sum('written'),
    conflicts: sum('conflicts'),
    superseded: sum('superseded'),
    reviews: sum('reviews'),
    erased: sum('erased'),
    touched: [...new Set(parts.flatMap((p) => p.touched))],
    outcomes: Object.assign({}, ...parts.map((p) => p.outcomes)),
  };
}
