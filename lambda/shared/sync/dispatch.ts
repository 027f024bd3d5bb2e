/**
 * The dispatch run, source side: claim → residency check per target → masking per target
 * jurisdiction → send to each allowed target's inbound queue → settle. A row is done only when
 * every allowed target accepted it; a failing target is retried on later runs with exponential
 * backoff and full jitter, behind a circuit breaker per target region; when attempts run out the
 * row is parked in the dead-letter queue with its reason. Nothing is dropped: a row whose parking
 * fails stays pending.
 */
import CircuitBreaker from 'opossum';
import type { Decision, ResidencyIndex } from '../residency-plan';
import type { Db } from './db';
import { type ChangeEvent, entityId, type InboundEnvelope, type SyncMessage } from './events';
import {
  type Hop,
  type HopOutcome,
  type LineageRecord,
  type MessageLineage,
  ruleOf,
} from './lineage';
import { type Masker, MaskingKeyError } from './masking';
import {
  claim,
  type Followed,
  followWriters,
  type OutboxRow,
  type Outcome,
  purgeSent,
  settle,
} from './outbox-store';
import { recordFacts, routesOf } from './routes';
import { PLAN_WRITERS, type WriterDirectory } from './writers';

/** SQS limit on one message. */
export const MAX_MESSAGE_BYTES = 256 * 1024;

export interface OutboundMessage {
  /** Event id: the FIFO deduplication id. */
  readonly id: string;
  /** Entity id: the FIFO message group, so one entity's changes stay in order. */
  readonly groupId: string;
  readonly body: string;
}

/** Sends messages to a target region's inbound queue; returns the ids that were not accepted. */
export interface Transport {
  send(
    target: string,
    messages: readonly OutboundMessage[],
  ): Promise<{ failed: Map<string, string> }>;
}

export interface ParkedRecord {
  readonly event: ChangeEvent;
  readonly reason: string;
  /** Targets that never accepted it (dispatch); empty when apply parked it. */
  readonly targets: readonly string[];
  /**
   * The rest of the inbound message, when apply parked a message it could read: a redrive
   * rebuilds the message from it and the event.
   * @default - none (dispatch parks, unreadable messages)
   */
  readonly inbound?: InboundEnvelope;
}

/** The dead-letter queue for records that cannot be delivered. */
export interface ParkingLot {
  park(records: readonly ParkedRecord[]): Promise<void>;
}

export interface DispatchOptions {
  readonly region: string;
  /** Claim owner: unique per invocation. */
  readonly worker: string;
  readonly batchSize: number;
  readonly maxAttempts: number;
  /** @default 300 */
  readonly leaseSeconds?: number;
  /** Delay before attempt n+1 (ms): @default fullJitterBackoff() */
  readonly backoff?: (attempts: number) => number;
  readonly now?: () => Date;
  /**
   * How long a delivered row stays in the sent log, to be sent again if its target cell's writer
   * changes (outbox-store.ts followWriters).
   * @default DEFAULT_REPLAY_SECONDS
   */
  readonly replaySeconds?: number;
  /**
   * Claim only rows of these classes (the relay: the realtime classes).
   * @default - every class
   */
  readonly classes?: readonly string[];
}

/**
 * The replay window: longer than the writer lease (30 s) plus the clock-skew bound and Aurora's
 * replication lag ("typically under a second"), with room for a replication that fell minutes
 * behind before the failover; the lag alarm pages long before this.
 */
export const DEFAULT_REPLAY_SECONDS = 300;

export interface DispatchReport {
  readonly region: string;
  readonly worker: string;
  /** The region is fenced, or not its cell's writer: nothing was claimed or sent. */
  readonly fenced?: boolean;
  /** Target cells whose writer changed since the last run, and what moved to the new one. */
  readonly followed?: readonly Followed[];
  readonly claimed: number;
  readonly done: number;
  readonly retrying: number;
  readonly parked: number;
  /** Messages accepted, by target region. */
  readonly sent: Readonly<Record<string, number>>;
  /** Deliveries the residency plan refused (the record stays home): by reason. */
  readonly withheld: Readonly<Record<string, number>>;
  /** Messages that went out masked, and the field paths masked. */
  readonly masked: number;
  readonly maskedFields: readonly string[];
  /** Failures by target region (first message of each). */
  readonly failures: Readonly<Record<string, string>>;
  /** Oldest HLC wall-clock time among sent records (for the lag metric). */
  readonly oldestSentWall?: number;
  readonly parkedRecords: readonly { eventId: string; reason: string }[];
  /**
   * What became of each claimed record, target by target (lineage.ts): kept in the batch's audit
   * object, left out of a run's totals.
   */
  readonly records?: readonly LineageRecord[];
}

/** Exponential backoff with full jitter (AWS Architecture Blog), in ms. */
export function fullJitterBackoff(baseMs = 30_000, capMs = 900_000, random = Math.random) {
  return (attempts: number) => Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempts));
}

/** One breaker per target region: a region that keeps failing is not hammered on every run. */
export class TargetBreakers {
  private readonly breakers = new Map<string, CircuitBreaker<[() => Promise<unknown>], unknown>>();

  constructor(
    private readonly options: CircuitBreaker.Options = {
      timeout: 10_000,
      errorThresholdPercentage: 50,
      volumeThreshold: 3,
      resetTimeout: 30_000,
    },
  ) {}

  run<T>(target: string, fn: () => Promise<T>): Promise<T> {
    let b = this.breakers.get(target);
    if (!b) {
      b = new CircuitBreaker((f: () => Promise<unknown>) => f(), this.options);
      this.breakers.set(target, b);
    }
    return b.fire(fn) as Promise<T>;
  }

  isOpen(target: string): boolean {
    return this.breakers.get(target)?.opened ?? false;
  }

  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
  }
}

/**
 * The message a target receives: the event as is when the plan says `full`, its masked projection
 * for the target's jurisdiction when it says `masked`.
 */
export function buildMessage(
  index: ResidencyIndex,
  masker: Masker,
  e: ChangeEvent,
  target: string,
  sourceRegion: string,
  mode: 'full' | 'masked',
  lineage?: MessageLineage,
): SyncMessage {
  const trail = lineage ? { lineage } : {};
  if (mode === 'full') return { v: 1, event: e, mode, maskedFields: [], sourceRegion, ...trail };
  const m = masker.mask(e.dataClass, index.jurisdictionOf(target) ?? '', e.payload);
  return {
    v: 1,
    event: { ...e, payload: m.payload },
    mode,
    maskedFields: m.maskedFields,
    sourceRegion,
    ...trail,
  };
}

export interface DispatchDeps {
  readonly db: Db;
  readonly index: ResidencyIndex;
  readonly masker: Masker;
  readonly transport: Transport;
  readonly parking: ParkingLot;
  readonly breakers: TargetBreakers;
  /** Targets this region sends to (syncTargets). */
  readonly targets: readonly string[];
  /**
   * Whether the failover runbook fenced this region; a fenced region ships nothing.
   * @default - never fenced
   */
  readonly fenced?: () => Promise<boolean>;
  /**
   * Whether this region is its cell's writer now (its database takes writes): only the writer
   * ships its cell's outbox, so a cell's sync runs wherever its writer is.
   * @default - always
   */
  readonly isWriter?: () => Promise<boolean>;
  /**
   * Each target cell's writer now.
   * @default PLAN_WRITERS - the plan's primaries
   */
  readonly writers?: WriterDirectory;
}

interface Delivery {
  readonly row: OutboxRow;
  readonly owed: string[];
  readonly accepted: Set<string>;
  error?: string;
  /** Not retryable: park now. */
  poison?: string;
  /** Too large to send: parked as a reference (its ids, no payload), so the park fits. */
  oversize?: boolean;
  /** The entity's lineage token. */
  readonly entity: string;
  /** Its hops so far, by target cell; an allowed hop's outcome is known once sent and settled. */
  readonly hops: {
    readonly target: string;
    readonly hop: Omit<Hop, 'outcome'>;
    outcome?: HopOutcome;
  }[];
}

/** A claimed batch; a fenced region, or one that is not the writer, claims nothing. */
interface Claimed {
  readonly standDown: boolean;
  readonly rows: readonly OutboxRow[];
}

async function claimBatch(deps: DispatchDeps, o: DispatchOptions): Promise<Claimed> {
  const standDown = ((await deps.fenced?.()) ?? false) || !((await deps.isWriter?.()) ?? true);
  const rows = standDown
    ? []
    : await claim(deps.db, o.worker, o.batchSize, o.leaseSeconds ?? 300, o.classes);
  return { standDown, rows };
}

/** Where each target's messages go this run, and what moved because a writer changed. */
export interface Routing {
  readonly writerOf: (target: string) => string;
  readonly followed: readonly Followed[];
}

/**
 * Resolves each target cell's writer; when one changed, moves what was meant for the old writer
 * to the new one (followWriters) before anything is claimed. A region that is not the writer
 * does neither (its database is read-only): it stands down at the claim.
 */
export async function route(deps: DispatchDeps, o: DispatchOptions): Promise<Routing> {
  const seen = await (deps.writers ?? PLAN_WRITERS).resolve(deps.targets);
  const writers = new Map(seen.map((x) => [x.target, x.writer]));
  const writerOf = (t: string) => writers.get(t) ?? t;
  if (!((await deps.isWriter?.()) ?? true) || ((await deps.fenced?.()) ?? false))
    return { writerOf, followed: [] };
  const followed = await followWriters(deps.db, seen);
  await purgeSent(deps.db, o.replaySeconds ?? DEFAULT_REPLAY_SECONDS);
  return { writerOf, followed };
}

/** One batch: follow the writers, claim, check, mask, send, settle. */
export async function dispatchOnce(
  deps: DispatchDeps,
  o: DispatchOptions,
): Promise<DispatchReport> {
  return dispatchRouted(deps, o, await route(deps, o));
}

/** One batch to writers already resolved (the relay resolves once a poll period). */
export async function dispatchRouted(
  deps: DispatchDeps,
  o: DispatchOptions,
  routing: Routing,
): Promise<DispatchReport> {
  return deliver(deps, o, await claimBatch(deps, o), routing);
}

async function deliver(
  deps: DispatchDeps,
  o: DispatchOptions,
  { standDown, rows }: Claimed,
  { writerOf, followed }: Routing,
): Promise<DispatchReport> {
  const now = o.now ?? (() => new Date());
  const backoff = o.backoff ?? fullJitterBackoff();
  const withheld: Record<string, number> = {};
  const maskedFields = new Set<string>();
  let masked = 0;
  const perTarget = new Map<string, { delivery: Delivery; message: OutboundMessage }[]>();
  const deliveries: Delivery[] = [];

  for (const row of rows) {
    const e = row.event;
    const hops: Delivery['hops'] = [];
    const withhold = (target: string, region: string, decision: Decision & { allowed: false }) => {
      withheld[decision.reason] = (withheld[decision.reason] ?? 0) + 1;
      hops.push({
        target,
        hop: { target: region, decision: 'denied', rule: decision.reason, maskedFields: [] },
        outcome: 'withheld',
      });
    };
    let owed: string[];
    if (row.pendingTargets) owed = [...row.pendingTargets];
    else {
      owed = [];
      for (const r of routesOf(deps.index, deps.targets, e)) {
        if (r.decision.allowed) owed.push(r.target);
        else withhold(r.target, r.target, r.decision);
      }
    }
    const entity = deps.masker.entityToken(e.entityType, e.entityKey);
    const d: Delivery = { row, owed, accepted: new Set(), entity, hops };
    deliveries.push(d);
    const lineage: MessageLineage = { correlationId: o.worker, entity };
    for (const target of owed) {
      // The plan decides for the region the record will land in: the target cell's writer now.
      const region = writerOf(target);
      const decision = deps.index.decide(e.dataClass, e.homeRegion, region, recordFacts(e));
      if (!decision.allowed) {
        // The plan changed since the row was first routed: the record must not go.
        d.accepted.add(target);
        withhold(target, region, decision);
        continue;
      }
      const rule = ruleOf(deps.index, e.dataClass, e.homeRegion, region, decision);
      let message: SyncMessage;
      try {
        message = buildMessage(
          deps.index,
          deps.masker,
          e,
          region,
          o.region,
          decision.mode,
          lineage,
        );
        hops.push({
          target,
          hop: { target: region, ...rule, maskedFields: message.maskedFields },
        });
        if (message.mode === 'masked') {
          for (const f of message.maskedFields) maskedFields.add(f);
          masked += 1;
        }
      } catch (err) {
        if (!(err instanceof MaskingKeyError)) throw err;
        d.poison = `masking: ${err.message}`;
        hops.push({ target, hop: { target: region, ...rule, maskedFields: [] } });
        break;
      }
      const body = JSON.stringify(message);
      if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
        d.poison = `message of ${Buffer.byteLength(body)} bytes exceeds the SQS limit of ${MAX_MESSAGE_BYTES}`;
        d.oversize = true;
        break;
      }
      const list = perTarget.get(target) ?? [];
      list.push({ delivery: d, message: { id: e.eventId, groupId: entityId(e), body } });
      perTarget.set(target, list);
    }
  }

  const sent: Record<string, number> = {};
  const failures: Record<string, string> = {};
  let oldestSentWall: number | undefined;
  await Promise.all(
    [...perTarget].map(async ([target, items]) => {
      const live = items.filter((i) => !i.delivery.poison);
      if (live.length === 0) return;
      let failed: Map<string, string>;
      try {
        ({ failed } = await deps.breakers.run(target, () =>
          deps.transport.send(
            writerOf(target),
            live.map((i) => i.message),
          ),
        ));
      } catch (err) {
        const reason = `${target}: ${(err as Error).message}`;
        failed = new Map(live.map((i) => [i.message.id, reason]));
      }
      for (const i of live) {
        const why = failed.get(i.message.id);
        if (why) {
          i.delivery.error = why;
          failures[target] ??= why;
        } else {
          i.delivery.accepted.add(target);
          sent[target] = (sent[target] ?? 0) + 1;
          const w = i.delivery.row.event.hlc.wall;
          oldestSentWall = oldestSentWall === undefined ? w : Math.min(oldestSentWall, w);
        }
      }
    }),
  );

  const outcomes: Outcome[] = [];
  const toPark: { d: Delivery; reason: string; remaining: string[] }[] = [];
  for (const d of deliveries) {
    const remaining = d.owed.filter((t) => !d.accepted.has(t));
    if (!d.poison && remaining.length === 0) {
      outcomes.push({ eventId: d.row.event.eventId, status: 'done', pendingTargets: [] });
      continue;
    }
    const attempts = d.row.attempts + 1;
    if (d.poison || attempts >= o.maxAttempts) {
      const reason =
        d.poison ??
        `gave up after ${attempts} attempt(s): ${d.error ?? 'not accepted'} (targets ${remaining.join(', ')})`;
      toPark.push({ d, reason, remaining });
    } else
      outcomes.push({
        eventId: d.row.event.eventId,
        status: 'pending',
        pendingTargets: remaining,
        nextAttemptAt: new Date(now().getTime() + backoff(attempts)),
        error: d.error,
      });
  }
  let parked = 0;
  if (toPark.length > 0) {
    try {
      await deps.parking.park(
        // The outbox keeps the whole record; a park too large for the queue keeps a reference.
        toPark.map((p) => ({
          event: p.d.oversize ? { ...p.d.row.event, payload: {} } : p.d.row.event,
          reason: p.reason,
          targets: p.remaining,
        })),
      );
      parked = toPark.length;
      for (const p of toPark)
        outcomes.push({
          eventId: p.d.row.event.eventId,
          status: 'parked',
          pendingTargets: p.remaining,
          error: p.reason,
        });
    } catch (err) {
      // The dead-letter queue is unreachable: keep the rows pending, retried next run.
      for (const p of toPark)
        outcomes.push({
          eventId: p.d.row.event.eventId,
          status: 'pending',
          pendingTargets: p.remaining,
          nextAttemptAt: new Date(now().getTime() + backoff(p.d.row.attempts + 1)),
          error: `${p.reason}; parking failed: ${(err as Error).message}`,
        });
    }
  }
  await settle(deps.db, o.worker, outcomes);
  const count = (s: Outcome['status']) => outcomes.filter((x) => x.status === s).length;
  const settled = new Map(outcomes.map((x) => [x.eventId, x]));
  return {
    region: o.region,
    worker: o.worker,
    ...(standDown ? { fenced: true } : {}),
    ...(followed.length > 0 ? { followed } : {}),
    claimed: rows.length,
    done: count('done'),
    retrying: count('pending'),
    parked,
    sent,
    withheld,
    masked,
    maskedFields: [...maskedFields].sort(),
    failures,
    ...(oldestSentWall !== undefined ? { oldestSentWall } : {}),
    parkedRecords:
      parked > 0 ? toPark.map((p) => ({ eventId: p.d.row.event.eventId, reason: p.reason })) : [],
    records: deliveries.map((d) => lineageOf(d, o, settled.get(d.row.event.eventId))),
  };
}

/** A delivery's lineage record, once its row is settled. */
function lineageOf(d: Delivery, o: DispatchOptions, settled: Outcome | undefined): LineageRecord {
  const e = d.row.event;
  const hops = d.hops.map(({ target, hop, outcome }): Hop => {
    if (outcome) return { ...hop, outcome };
    if (d.accepted.has(target)) return { ...hop, outcome: 'sent' };
    const status = settled?.status === 'parked' ? 'parked' : 'retrying';
    const reason = settled?.error ?? d.poison ?? d.error;
    return { ...hop, outcome: status, ...(reason ? { reason } : {}) };
  });
  return {
    eventId: e.eventId,
    entity: d.entity,
    dataClass: e.dataClass,
    op: e.op,
    homeRegion: e.homeRegion,
    sourceRegion: o.region,
    correlationId: o.worker,
    consent: e.consent === true,
    hops,
  };
}

export interface DrainOptions {
  /** Milliseconds left in this invocation (Lambda: `context.getRemainingTimeInMillis`). */
  readonly remainingMs: () => number;
  /**
   * Time kept in hand: no new batch starts with less than this left.
   * @default - twice the slowest batch so far, and at least 30 s
   */
  readonly reserveMs?: number;
  /** Called after each batch (the audit record). */
  readonly onBatch?: (report: DispatchReport, batch: number) => Promise<void>;
}

/**
 * Runs batches back to back until the outbox has nothing due, the region is fenced, or the
 * invocation's time runs short. One batch per scheduled run would cap a region at `batchSize`
 * records per schedule period (1,000 per 5 minutes), far below the peak it must carry.
 *
 * The next batch is claimed while this one is masked and sent (its rows are leased, so the two
 * never overlap), which hides the claim's round trip behind the work; it is claimed only when
 * there is time to deliver it, so a run never ends holding a lease it did not use.
 */
export async function dispatchUntilDrained(
  deps: DispatchDeps,
  o: DispatchOptions,
  drain: DrainOptions,
): Promise<DispatchReport[]> {
  const reports: DispatchReport[] = [];
  let slowest = 0;
  let started = Date.now();
  let routing = await route(deps, o);
  let next: Promise<Claimed> | undefined = claimBatch(deps, o);
  while (next) {
    const batch: Claimed = await next;
    const reserve = drain.reserveMs ?? Math.max(30_000, 2 * slowest);
    next =
      !batch.standDown && batch.rows.length === o.batchSize && drain.remainingMs() >= reserve
        ? claimBatch(deps, o)
        : undefined;
    // A failed prefetch surfaces when it is awaited, not as an unhandled rejection meanwhile.
    next?.catch(() => undefined);
    const report = await deliver(deps, o, batch, routing);
    routing = { ...routing, followed: [] };
    const finished = Date.now();
    slowest = Math.max(slowest, finished - started);
    started = finished;
    reports.push(report);
    await drain.onBatch?.(report, reports.length);
  }
  return reports;
}

/** A run that claimed nothing (a relay whose time ran out before its first batch). */
export const emptyReport = (region: string, worker: string): DispatchReport => ({
  region,
  worker,
  claimed: 0,
  done: 0,
  retrying: 0,
  parked: 0,
  sent: {},
  withheld: {},
  masked: 0,
  maskedFields: [],
  failures: {},
  parkedRecords: [],
});

/** The totals of several batches of one run. */
export function sumDispatch(reports: readonly DispatchReport[]): DispatchReport {
  const first = reports[0];
  if (!first) throw new Error('sumDispatch needs at least one report');
  const add = (key: 'sent' | 'withheld') => {
    const out: Record<string, number> = {};
    for (const r of reports)
      for (const [k, n] of Object.entries(r[key])) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const walls = reports.flatMap((r) => (r.oldestSentWall === undefined ? [] : [r.oldestSentWall]));
  const sum = (k: 'claimed' | 'done' | 'retrying' | 'parked' | 'masked') =>
    reports.reduce((n, r) => n + r[k], 0);
  return {
    region: first.region,
    worker: first.worker,
    ...(reports.some((r) => r.fenced) ? { fenced: true } : {}),
    ...(reports.some((r) => r.followed)
      ? { followed: reports.flatMap((r) => r.followed ?? []) }
      : {}),
    claimed: sum('claimed'),
    done: sum('done'),
    retrying: sum('retrying'),
    parked: sum('parked'),
    sent: add('sent'),
    withheld: add('withheld'),
    masked: sum('masked'),
    maskedFields: [...new Set(reports.flatMap((r) => r.maskedFields))].sort(),
    failures: Object.assign({}, ...reports.map((r) => r.failures).reverse()),
    ...(walls.length > 0 ? { oldestSentWall: Math.min(...walls) } : {}),
    parkedRecords: reports.flatMap((r) => r.parkedRecords),
  };
}
