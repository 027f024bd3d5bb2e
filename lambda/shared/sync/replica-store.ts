/**
 * The target side in SQL: one transaction per batch that locks the entities it touches, resolves
 * conflicts in ./conflict.ts, and writes in one statement: a bulk upsert behind a guard that
 * implements the same total order (so a concurrent writer can never replace a newer version with
 * an older one), plus the losing versions into history and review siblings. A redelivered event
 * is a no-op by state: it equals or loses to what is stored, and its history or review copy
 * already exists.
 */
import { type ReplicaRow, resolve, type Version } from './conflict';
import { type Db, transaction } from './db';
import { erasedEvents } from './erasure';
import { type ChangeEvent, entityId } from './events';
import { writeChanges } from './outbox-store';
import type { ConflictStrategy } from './rules';

/**
 * The order tuple of a replica row, as SQL over the alias `x`: (home flag, HLC wall, HLC logical,
 * origin region, event id). The home flag counts only for home-wins classes (`$homeWins`).
 */
export const orderTuple = (x: string, homeWinsParam: string) =>
  `(CASE WHEN ${x}.data_class = ANY(${homeWinsParam}::text[]) THEN (${x}.origin_region = ${x}.home_region)::int ELSE 0 END, ${x}.hlc_wall, ${x}.hlc_logical, ${x}.origin_region COLLATE "C", ${x}.event_id)`;

/** A row may replace the stored one only if it is later in the order (or a field merge of it). */
export const UPSERT_GUARD = `${orderTuple('excluded', '$2')} > ${orderTuple('t', '$2')}
  OR (t.data_class = ANY($3::text[]) AND ${orderTuple('excluded', '$2')} >= ${orderTuple('t', '$2')})`;

const UPSERT = `
INSERT INTO meridian_replica AS t
  (entity_type, entity_key, data_class, home_region, hlc_wall, hlc_logical, origin_region,
   event_id, deleted, payload, clocks, updated_at)
SELECT r.entity_type, r.entity_key, r.data_class, r.home_region, r.hlc_wall, r.hlc_logical,
       r.origin_region, r.event_id, r.deleted, r.payload, r.clocks, now()
FROM jsonb_to_recordset($1::jsonb) AS r(entity_type text, entity_key text, data_class text,
  home_region text, hlc_wall bigint, hlc_logical integer, origin_region text, event_id uuid,
  deleted boolean, payload jsonb, clocks jsonb)
ON CONFLICT (entity_type, entity_key) DO UPDATE SET
  data_class = excluded.data_class, home_region = excluded.home_region,
  hlc_wall = excluded.hlc_wall, hlc_logical = excluded.hlc_logical,
  origin_region = excluded.origin_region, event_id = excluded.event_id,
  deleted = excluded.deleted, payload = excluded.payload, clocks = excluded.clocks,
  updated_at = now()
WHERE ${UPSERT_GUARD}
RETURNING entity_type, entity_key`;

interface StoredRow {
  entity_type: string;
  entity_key: string;
  data_class: string;
  home_region: string;
  hlc_wall: string | number;
  hlc_logical: number;
  origin_region: string;
  event_id: string;
  deleted: boolean;
  payload: Record<string, unknown>;
  clocks: StoredClocks | Record<string, Version> | null;
}

/**
 * Field clocks as stored: each distinct version once (`v`: wall, logical, region, event id) and
 * each field as an index into that list (`f`), so a record written by one event stores one
 * version however many fields it has (a quarter of the bytes of one object per field, which
 * Postgres parses, stores and logs on every write). Canonical: fields in code-unit order, versions
 * in order of first use, so replicas that hold the same state hold the same value.
 */
export interface StoredClocks {
  readonly v: (readonly [wall: number, logical: number, region: string, eventId: string])[];
  readonly f: Readonly<Record<string, number>>;
}

export function encodeClocks(clocks: Readonly<Record<string, Version>>): StoredClocks {
  const v: [number, number, string, string][] = [];
  const f: Record<string, number> = {};
  const seen = new Map<string, number>();
  for (const field of Object.keys(clocks).sort()) {
    const c = clocks[field] as Version;
    const id = `${c.wall}\u0000${c.logical}\u0000${c.region}\u0000${c.eventId}`;
    let i = seen.get(id);
    if (i === undefined) {
      i = v.length;
      seen.set(id, i);
      v.push([c.wall, c.logical, c.region, c.eventId]);
    }
    f[field] = i;
  }
  return { v, f };
}

/** Reads stored clocks; rows written before the compact shape (one object per field) read too. */
export function decodeClocks(
  stored: StoredClocks | Readonly<Record<string, Version>>,
): Record<string, Version> {
  if (!Array.isArray(stored.v)) return { ...(stored as Readonly<Record<string, Version>>) };
  const { v, f } = stored as StoredClocks;
  const versions = v.map(([wall, logical, region, eventId]) => ({
    wall,
    logical,
    region,
    eventId,
  }));
  const out: Record<string, Version> = {};
  for (const field of Object.keys(f)) out[field] = versions[f[field] as number] as Version;
  return out;
}

const key = (type: string, k: string) => `${type}\u0000${k}`;

function toRow(r: StoredRow): ReplicaRow {
  return {
    entityType: r.entity_type,
    entityKey: r.entity_key,
    dataClass: r.data_class,
    homeRegion: r.home_region,
    version: {
      wall: Number(r.hlc_wall),
      logical: r.hlc_logical,
      region: r.origin_region,
      eventId: r.event_id,
    },
    deleted: r.deleted,
    payload: r.payload,
    ...(r.clocks ? { clocks: decodeClocks(r.clocks) } : {}),
  };
}

const toRecord = (r: ReplicaRow) => ({
  entity_type: r.entityType,
  entity_key: r.entityKey,
  data_class: r.dataClass,
  home_region: r.homeRegion,
  hlc_wall: r.version.wall,
  hlc_logical: r.version.logical,
  origin_region: r.version.region,
  event_id: r.version.eventId,
  deleted: r.deleted,
  payload: r.payload,
  clocks: r.clocks ? encodeClocks(r.clocks) : null,
});

const versionRecord = (entityType: string, entityKey: string, v: ReplicaRow | ChangeEvent) =>
  'version' in v
    ? {
        entity_type: entityType,
        entity_key: entityKey,
        event_id: v.version.eventId,
        origin_region: v.version.region,
        hlc_wall: v.version.wall,
        hlc_logical: v.version.logical,
        deleted: v.deleted,
        payload: v.payload,
      }
    : {
        entity_type: entityType,
        entity_key: entityKey,
        event_id: v.eventId,
        origin_region: v.originRegion,
        hlc_wall: v.hlc.wall,
        hlc_logical: v.hlc.logical,
        deleted: v.op === 'delete',
        payload: v.payload,
      };

const VERSION_COLUMNS = `entity_type text, entity_key text, event_id uuid, origin_region text,
  hlc_wall bigint, hlc_logical integer, deleted boolean, payload jsonb`;

export interface ApplyStats {
  /** Events that had an effect: changed the state, or were archived or sent to review. */
  readonly fresh: number;
  /** Events with nothing left to do: redeliveries, and versions already superseded here. */
  readonly duplicates: number;
  /** Rows written. */
  readonly written: number;
  /** Events that met a version from another region. */
  readonly conflicts: number;
  /** Losing versions kept in history. */
  readonly superseded: number;
  /** Sibling versions sent to manual review. */
  readonly reviews: number;
  /** Versions of erased entities, written before their erasure: dropped, never applied. */
  readonly erased: number;
  /** Entities (`type:key`) whose cached copy must go, redeliveries included. */
  readonly touched: readonly string[];
  /** What became of each event, by event id (for lineage). */
  readonly outcomes: Readonly<Record<string, EventOutcome>>;
}

/**
 * `applied`: the entity's current version (or merged into it); `superseded`: kept in history, a
 * later version wins; `review`: waits for a person beside its sibling; `duplicate`: nothing new;
 * `erased`: its entity was erased after it was written (erasure.ts), so it is dropped.
 */
export type EventOutcome = 'applied' | 'superseded' | 'review' | 'duplicate' | 'erased';

export class GuardRejectedError extends Error {
  override readonly name = 'GuardRejectedError';
}

/** Applies a batch in one transaction; the whole batch commits or none of it does. */
export function applyBatch(
  db: Db,
  events: readonly ChangeEvent[],
  strategyOf: (dataClass: string) => ConflictStrategy,
): Promise<ApplyStats> {
  return transaction(db, () => applyEvents(db, events, strategyOf));
}

/**
 * A local write: the change joins the outbox (for the other regions) and the local replica (so
 * every region's replica table holds the same resolved state), in one transaction. Call it from
 * the application's own transaction instead when the change is written with other data.
 */
export function recordChanges(
  db: Db,
  events: readonly ChangeEvent[],
  strategyOf: (dataClass: string) => ConflictStrategy,
): Promise<ApplyStats> {
  return transaction(db, async () => {
    await writeChanges(db, events);
    return applyEvents(db, events, strategyOf);
  });
}

/**
 * One statement writes the whole resolution: stored rows that lost are copied to history (the
 * statement's snapshot still holds them), the upsert runs behind the guard, and losing incoming
 * versions and review siblings are inserted. History and review keep one copy per (entity, event
 * id), so a redelivery archives nothing twice, and siblings met by an event that is already in
 * history (a redelivery meeting a later winner) are not reviewed again. `RETURNING` tells which
 * copies are new.
 */
const WRITE = `
WITH archived AS (
  INSERT INTO meridian_replica_history
    (entity_type, entity_key, event_id, origin_region, hlc_wall, hlc_logical, deleted, payload)
  SELECT r.entity_type, r.entity_key, r.event_id, r.origin_region, r.hlc_wall, r.hlc_logical,
         r.deleted, r.payload
    FROM unnest($4::text[], $5::text[]) AS u(entity_type, entity_key)
    JOIN meridian_replica r ON r.entity_type = u.entity_type AND r.entity_key = u.entity_key
  ON CONFLICT DO NOTHING
  RETURNING 1
), upserted AS (${UPSERT}
), lost AS (
  INSERT INTO meridian_replica_history
    (entity_type, entity_key, event_id, origin_region, hlc_wall, hlc_logical, deleted, payload)
  SELECT * FROM jsonb_to_recordset($6::jsonb) AS r(${VERSION_COLUMNS})
  ON CONFLICT DO NOTHING
  RETURNING event_id
), reviewed AS (
  INSERT INTO meridian_review
    (entity_type, entity_key, event_id, origin_region, hlc_wall, hlc_logical, deleted, payload)
  SELECT r.entity_type, r.entity_key, r.event_id, r.origin_region, r.hlc_wall, r.hlc_logical,
         r.deleted, r.payload
    FROM jsonb_to_recordset($7::jsonb) AS r(${VERSION_COLUMNS}, met_by uuid)
   WHERE NOT EXISTS (
     SELECT 1 FROM meridian_replica_history h
      WHERE h.entity_type = r.entity_type AND h.entity_key = r.entity_key
        AND h.event_id = r.met_by)
  ON CONFLICT DO NOTHING
  RETURNING event_id
)
SELECT (SELECT count(*) FROM upserted)::int AS written,
       (SELECT count(*) FROM archived)::int AS archived,
       ARRAY(SELECT event_id::text FROM lost) AS lost,
       ARRAY(SELECT event_id::text FROM reviewed) AS reviewed`;

/** The body of applyBatch, inside a transaction the caller holds. */
export async function applyEvents(
  db: Db,
  incoming: readonly ChangeEvent[],
  strategyOf: (dataClass: string) => ConflictStrategy,
): Promise<ApplyStats> {
  // What an erasure removed stays removed: its older versions are dropped before anything else.
  const erased = await erasedEvents(db, incoming);
  const events = erased.size === 0 ? incoming : incoming.filter((e) => !erased.has(e.eventId));
  const erasedOutcomes = Object.fromEntries([...erased].map((id) => [id, 'erased' as const]));
  const touched = [...new Set(events.map(entityId))];
  const classes = [...new Set(events.map((e) => e.dataClass))];
  const classesWith = (...strategies: ConflictStrategy[]) =>
    classes.filter((c) => strategies.includes(strategyOf(c)));
  const homeWins = classesWith('home-wins');
  const merges = classesWith('field-merge');
  // Payloads are read only where resolution needs them (field-merge, manual); a stored row that
  // loses is copied to history inside the database instead of through here.
  const needPayload = classesWith('field-merge', 'manual');

  const entities = new Map(events.map((e) => [key(e.entityType, e.entityKey), e]));
  const current =
    events.length === 0
      ? { rows: [] }
      : await db.query<StoredRow>(
          `SELECT r.entity_type, r.entity_key, r.data_class, r.home_region, r.hlc_wall,
                  r.hlc_logical, r.origin_region, r.event_id, r.deleted, r.clocks,
                  CASE WHEN r.data_class = ANY($3::text[]) THEN r.payload ELSE '{}'::jsonb END AS payload
             FROM unnest($1::text[], $2::text[]) AS u(entity_type, entity_key)
             JOIN meridian_replica r ON r.entity_type = u.entity_type AND r.entity_key = u.entity_key
              FOR UPDATE OF r`,
          [
            [...entities.values()].map((e) => e.entityType),
            [...entities.values()].map((e) => e.entityKey),
            needPayload,
          ],
        );
  const stored = new Map<string, ReplicaRow>(
    current.rows.map((r) => [key(r.entity_type, r.entity_key), toRow(r)]),
  );
  const state = new Map(stored);
  /** Stored rows that lost, by entity: archived from the table itself. */
  const storedLosers = new Map<string, ReplicaRow>();
  const changed = new Map<string, ReplicaRow>();
  const losers = new Map<string, ReturnType<typeof versionRecord>>();
  /** Siblings to review, each with the incoming event that met it (`met_by`). */
  const reviews = new Map<string, ReturnType<typeof versionRecord> & { met_by: string }>();
  /** Events that changed the state; events whose only effect can be their own archived copy. */
  let changedState = 0;
  const archivedOnly = new Set<string>();
  let conflicts = 0;
  /** Events that became (or merged into) their entity's state in this batch. */
  const won = new Set<string>();
  const review = (e: ChangeEvent, v: ReplicaRow | ChangeEvent) => {
    const r = versionRecord(e.entityType, e.entityKey, v);
    reviews.set(`${r.event_id}/${e.eventId}`, { ...r, met_by: e.eventId });
  };
  for (const e of events) {
    const k = key(e.entityType, e.entityKey);
    const before = state.get(k);
    const r = resolve(strategyOf(e.dataClass), before, e);
    if (r.conflict) conflicts += 1;
    if (r.loser && r.loser === stored.get(k)) storedLosers.set(k, r.loser);
    else if (r.loser) {
      const lost = versionRecord(e.entityType, e.entityKey, r.loser);
      losers.set(lost.event_id, lost);
    }
    if (r.review) {
      review(e, e);
      if (before) review(e, before);
    }
    if (!r.row && (r.loser === e || r.review)) archivedOnly.add(e.eventId);
    if (r.row) {
      won.add(e.eventId);
      changedState += 1;
      state.set(k, r.row);
      changed.set(k, r.row);
    }
  }
  // The stored version of an entity that lost is archived from the table; never twice.
  for (const row of storedLosers.values()) losers.delete(row.version.eventId);

  if (changed.size === 0 && storedLosers.size === 0 && losers.size === 0 && reviews.size === 0)
    return {
      fresh: 0,
      duplicates: events.length,
      written: 0,
      conflicts,
      superseded: 0,
      reviews: 0,
      erased: erased.size,
      touched,
      outcomes: {
        ...Object.fromEntries(events.map((e) => [e.eventId, 'duplicate' as const])),
        ...erasedOutcomes,
      },
    };
  const out = await db.query<{
    written: number;
    archived: number;
    lost: string[];
    reviewed: string[];
  }>(WRITE, [
    JSON.stringify([...changed.values()].map(toRecord)),
    homeWins,
    merges,
    [...storedLosers.values()].map((r) => r.entityType),
    [...storedLosers.values()].map((r) => r.entityKey),
    JSON.stringify([...losers.values()]),
    JSON.stringify([...reviews.values()]),
  ]);
  const w = out.rows[0] as NonNullable<(typeof out.rows)[number]>;
  if (w.written !== changed.size)
    throw new GuardRejectedError(
      `${changed.size - w.written} row(s) changed under the batch; it will be retried`,
    );
  const copied = new Set([...w.lost, ...w.reviewed]);
  const fresh = changedState + [...archivedOnly].filter((id) => copied.has(id)).length;
  const [lost, reviewed] = [new Set(w.lost), new Set(w.reviewed)];
  const outcomeOf = (id: string): EventOutcome =>
    reviewed.has(id)
      ? 'review'
      : lost.has(id) || (won.has(id) && losers.has(id))
        ? 'superseded'
        : won.has(id)
          ? 'applied'
          : 'duplicate';
  return {
    fresh,
    duplicates: events.length - fresh,
    written: w.written,
    conflicts,
    superseded: w.archived + w.lost.length,
    reviews: w.reviewed.length,
    erased: erased.size,
    touched,
    outcomes: {
      ...Object.fromEntries(events.map((e) => [e.eventId, outcomeOf(e.eventId)])),
      ...erasedOutcomes,
    },
  };
}

/** Reads one replica row (tests, the failover write round-trip). */
export async function readReplica(
  db: Db,
  entityType: string,
  entityKey: string,
): Promise<ReplicaRow | undefined> {
  const r = await db.query<StoredRow>(
    'SELECT * FROM meridian_replica WHERE entity_type = $1 AND entity_key = $2',
    [entityType, entityKey],
  );
  return r.rows[0] ? toRow(r.rows[0]) : undefined;
}
