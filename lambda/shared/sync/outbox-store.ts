/**
 * The source side in SQL. Applications call `writeChange` inside their own transaction, so the
 * change and its outbox row commit together. Dispatch workers claim rows with
 * `FOR UPDATE SKIP LOCKED` and a lease: concurrent workers never take the same row, and a worker
 * that dies releases its rows when the lease ends. Every later update is fenced by the claim.
 * A row every target accepted is deleted; one that cannot be delivered stays, `parked`, beside
 * its copy in the dead-letter queue.
 */
import { type Db, transaction } from './db';
import type { ChangeEvent } from './events';

export interface OutboxRow {
  readonly event: ChangeEvent;
  readonly attempts: number;
  /** Targets still owed the event; null until the first dispatch decides them. */
  readonly pendingTargets: readonly string[] | null;
}

/** Appends a change to the outbox; call it in the transaction that writes the change. */
export async function writeChange(db: Db, e: ChangeEvent): Promise<void> {
  await db.query(
    `INSERT INTO meridian_outbox (event_id, entity_type, entity_key, data_class, home_region,
       origin_region, hlc_wall, hlc_logical, op, payload, consent)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      e.eventId,
      e.entityType,
      e.entityKey,
      e.dataClass,
      e.homeRegion,
      e.originRegion,
      e.hlc.wall,
      e.hlc.logical,
      e.op,
      JSON.stringify(e.payload),
      e.consent === true,
    ],
  );
}

/** Bulk form of writeChange (seeding, benchmarks): one statement per call. */
export async function writeChanges(db: Db, events: readonly ChangeEvent[]): Promise<void> {
  await db.query(
    `INSERT INTO meridian_outbox (event_id, entity_type, entity_key, data_class, home_region,
       origin_region, hlc_wall, hlc_logical, op, payload, consent)
     SELECT event_id, entity_type, entity_key, data_class, home_region, origin_region, hlc_wall,
       hlc_logical, op, payload, coalesce(consent, false)
     FROM jsonb_to_recordset($1::jsonb) AS r(event_id uuid, entity_type text, entity_key text,
       data_class text, home_region text, origin_region text, hlc_wall bigint, hlc_logical integer,
       op text, payload jsonb, consent boolean)`,
    [
      JSON.stringify(
        events.map((e) => ({
          event_id: e.eventId,
          entity_type: e.entityType,
          entity_key: e.entityKey,
          data_class: e.dataClass,
          home_region: e.homeRegion,
          origin_region: e.originRegion,
          hlc_wall: e.hlc.wall,
          hlc_logical: e.hlc.logical,
          op: e.op,
          payload: e.payload,
          consent: e.consent === true,
        })),
      ),
    ],
  );
}

interface ClaimedRow {
  event_id: string;
  entity_type: string;
  entity_key: string;
  data_class: string;
  home_region: string;
  origin_region: string;
  hlc_wall: string | number;
  hlc_logical: number;
  op: 'upsert' | 'delete';
  payload: Record<string, unknown>;
  consent: boolean;
  attempts: number;
  pending_targets: string[] | null;
}

/**
 * Claims up to `limit` due rows for `worker`, oldest first, for `leaseSeconds`; only rows of
 * `classes` when given (the relay's realtime classes).
 */
export async function claim(
  db: Db,
  worker: string,
  limit: number,
  leaseSeconds: number,
  classes?: readonly string[],
): Promise<OutboxRow[]> {
  const r = await db.query<ClaimedRow>(
    `UPDATE meridian_outbox o
        SET claimed_by = $1, claimed_until = now() + make_interval(secs => $3)
      WHERE o.event_id = ANY(ARRAY(
              SELECT event_id FROM meridian_outbox
               WHERE status = 'pending' AND next_attempt_at <= now()
                 AND (claimed_until IS NULL OR claimed_until < now())
                 ${classes ? 'AND data_class = ANY($4::text[])' : ''}
               ORDER BY next_attempt_at, hlc_wall
               LIMIT $2
               FOR UPDATE SKIP LOCKED))
  RETURNING o.event_id, o.entity_type, o.entity_key, o.data_class, o.home_region,
            o.origin_region, o.hlc_wall, o.hlc_logical, o.op, o.payload, o.consent, o.attempts,
            o.pending_targets`,
    classes ? [worker, limit, leaseSeconds, classes] : [worker, limit, leaseSeconds],
  );
  return r.rows
    .map((x) => ({
      event: {
        eventId: x.event_id,
        entityType: x.entity_type,
        entityKey: x.entity_key,
        dataClass: x.data_class,
        homeRegion: x.home_region,
        originRegion: x.origin_region,
        hlc: { wall: Number(x.hlc_wall), logical: x.hlc_logical },
        op: x.op,
        payload: x.payload,
        ...(x.consent ? { consent: true } : {}),
      },
      attempts: x.attempts,
      pendingTargets: x.pending_targets,
    }))
    .sort(
      (a, b) => a.event.hlc.wall - b.event.hlc.wall || a.event.hlc.logical - b.event.hlc.logical,
    );
}

export interface Outcome {
  readonly eventId: string;
  readonly status: 'done' | 'pending' | 'parked';
  /** Targets still owed the event (pending). */
  readonly pendingTargets: readonly string[];
  /** When to try again (pending). */
  readonly nextAttemptAt?: Date;
  readonly error?: string;
}

/**
 * Records what happened to claimed rows, only while `worker` still holds them (a worker whose
 * lease expired and whose rows were reclaimed cannot overwrite the new owner's progress).
 * Returns the number of rows updated.
 */
export async function settle(
  db: Db,
  worker: string,
  outcomes: readonly Outcome[],
): Promise<number> {
  const done = outcomes.filter((o) => o.status === 'done').map((o) => o.eventId);
  const rest = outcomes.filter((o) => o.status !== 'done');
  let updated = 0;
  if (done.length > 0) {
    // The common case: a delivered row leaves the outbox (the dispatch audit record keeps what
    // was sent where), by primary key, an index scan rather than a join over the outbox. It is
    // kept in the sent log for the replay window (followWriters). Measured against the
    // alternatives, interleaved on one machine (bench sync.e2e, s/100k): this 4.37-5.41, marking
    // the row done in place 4.53-5.70, a plain delete with no replay 4.53-5.51: no difference
    // beyond the machine's noise, so the log stays where a purge is an index range scan.
    const r = await db.query(
      `WITH d AS (
         DELETE FROM meridian_outbox
          WHERE event_id = ANY($2::uuid[]) AND claimed_by = $1
      RETURNING ${EVENT_COLUMNS})
       INSERT INTO meridian_outbox_sent (${EVENT_COLUMNS})
       SELECT ${EVENT_COLUMNS} FROM d
       ON CONFLICT (event_id) DO UPDATE SET sent_at = now()
    RETURNING event_id`,
      [worker, done],
    );
    updated += r.rows.length;
  }
  if (rest.length > 0) {
    const r = await db.query(
      `UPDATE meridian_outbox o
          SET status = u.status,
              attempts = o.attempts + 1,
              pending_targets = u.pending_targets,
              next_attempt_at = COALESCE(u.next_attempt_at, o.next_attempt_at),
              last_error = u.error,
              claimed_by = NULL, claimed_until = NULL
         FROM jsonb_to_recordset($2::jsonb) AS u(event_id uuid, status text,
              pending_targets text[], next_attempt_at timestamptz, error text)
        WHERE o.event_id = u.event_id AND o.claimed_by = $1
    RETURNING o.event_id`,
      [
        worker,
        JSON.stringify(
          rest.map((o) => ({
            event_id: o.eventId,
            status: o.status,
            pending_targets: o.pendingTargets,
            next_attempt_at: o.nextAttemptAt?.toISOString() ?? null,
            error: o.error ?? null,
          })),
        ),
      ],
    );
    updated += r.rows.length;
  }
  return updated;
}

/**
 * Sets parked rows pending again, due now, with a fresh attempt budget (a redrive); their targets
 * still owed stay as they were. Returns the ids that were parked: a row already delivered, or
 * already redriven, is left alone.
 */
export async function unpark(db: Db, eventIds: readonly string[]): Promise<string[]> {
  if (eventIds.length === 0) return [];
  const r = await db.query<{ event_id: string }>(
    `UPDATE meridian_outbox
        SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
      WHERE event_id = ANY($1::uuid[]) AND status = 'parked'
  RETURNING event_id`,
    [eventIds],
  );
  return r.rows.map((x) => x.event_id);
}

/** The columns of an event, shared by the outbox and its sent log. */
const EVENT_COLUMNS =
  'event_id, entity_type, entity_key, data_class, home_region, origin_region, hlc_wall, hlc_logical, op, payload, consent';

/** A target cell's writer as seen now (lambda/shared/sync/writers.ts). */
export interface WriterSeen {
  /** The target's key: its cell's plan primary, the name dispatch's targets use. */
  readonly target: string;
  readonly writer: string;
  /** The writer lease's epoch: it grows every time the lease changes hands. */
  readonly epoch: number;
}

/** What following a changed writer did, per target. */
export interface Followed {
  readonly target: string;
  readonly from?: string;
  readonly to: string;
  /** Parked rows owed to the target, pending again. */
  readonly unparked: number;
  /** Pending rows owed to the target, due now instead of after their backoff. */
  readonly hurried: number;
  /** Rows of the sent log owed again to the target (its old writer may not have replicated them). */
  readonly replayed: number;
}

/**
 * Notices each target cell whose writer changed since the last run (a promotion or a failback)
 * and moves what was meant for the old writer to the new one, in one transaction per target:
 * rows parked for the target are pending again with a fresh budget, pending rows are due now, and
 * every row of the sent log is owed to the target again, since the old writer may have applied
 * them without replicating them before it stopped (Aurora's lag, or a partition). Apply is
 * idempotent by state, so a record the new writer already holds is counted a duplicate there.
 * The first sighting of a target only records its writer.
 */
export async function followWriters(db: Db, seen: readonly WriterSeen[]): Promise<Followed[]> {
  const out: Followed[] = [];
  for (const s of seen) {
    const before = await db.query<{ writer: string; epoch: string | number }>(
      'SELECT writer, epoch FROM meridian_sync_target WHERE target = $1',
      [s.target],
    );
    const last = before.rows[0];
    if (last && last.writer === s.writer && Number(last.epoch) === s.epoch) continue;
    const followed = await transaction(db, async () => {
      let unparked = 0;
      let hurried = 0;
      let replayed = 0;
      if (last) {
        unparked = (
          await db.query(
            `UPDATE meridian_outbox
                SET status = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
              WHERE status = 'parked' AND $1 = ANY(pending_targets)
          RETURNING event_id`,
            [s.target],
          )
        ).rows.length;
        hurried = (
          await db.query(
            `UPDATE meridian_outbox SET next_attempt_at = now()
              WHERE status = 'pending' AND next_attempt_at > now()
                AND (pending_targets IS NULL OR $1 = ANY(pending_targets))
          RETURNING event_id`,
            [s.target],
          )
        ).rows.length;
        replayed = (
          await db.query(
            `INSERT INTO meridian_outbox (${EVENT_COLUMNS}, pending_targets)
             SELECT ${EVENT_COLUMNS}, ARRAY[$1::text] FROM meridian_outbox_sent
             ON CONFLICT (event_id) DO UPDATE
                SET pending_targets = meridian_outbox.pending_targets || $1::text,
                    next_attempt_at = now()
              WHERE meridian_outbox.status = 'pending'
                AND meridian_outbox.pending_targets IS NOT NULL
                AND NOT $1 = ANY(meridian_outbox.pending_targets)
          RETURNING event_id`,
            [s.target],
          )
        ).rows.length;
      }
      await db.query(
        `INSERT INTO meridian_sync_target (target, writer, epoch) VALUES ($1, $2, $3)
         ON CONFLICT (target) DO UPDATE SET writer = $2, epoch = $3, seen_at = now()`,
        [s.target, s.writer, s.epoch],
      );
      return { unparked, hurried, replayed };
    });
    if (last) out.push({ target: s.target, from: last.writer, to: s.writer, ...followed });
  }
  return out;
}

/** Drops sent-log rows older than the replay window; returns how many. */
export async function purgeSent(db: Db, windowSeconds: number): Promise<number> {
  const r = await db.query(
    `DELETE FROM meridian_outbox_sent WHERE sent_at < now() - make_interval(secs => $1)
  RETURNING event_id`,
    [windowSeconds],
  );
  return r.rows.length;
}

/** Counts by status (metrics, tests). */
export async function outboxCounts(db: Db): Promise<Record<string, number>> {
  const r = await db.query<{ status: string; n: string | number }>(
    'SELECT status, count(*) AS n FROM meridian_outbox GROUP BY status',
  );
  return Object.fromEntries(r.rows.map((x) => [x.status, Number(x.n)]));
}
