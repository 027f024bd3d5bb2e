/**
 * A data-subject request in one region's database: every copy of the subject's entities the sync
 * tables hold (current replica, history, review queue, outbox, sent log), found for an access
 * request or removed for an erasure — with a tombstone, in the same transaction, so nothing brings
 * them back. Counts leave this module, never a value (the export is the caller's, to hand over).
 */
import { type Db, transaction } from '../sync/db';
import { tombstoneOf } from '../sync/erasure';
import type { Hlc } from '../sync/hlc';
import type { EntityRef, SubjectRequest } from './subject';

/** The tables a subject's copies live in, by the name a record of them uses. */
export const SUBJECT_TABLES = {
  replica: 'meridian_replica',
  history: 'meridian_replica_history',
  review: 'meridian_review',
  outbox: 'meridian_outbox',
  sent: 'meridian_outbox_sent',
} as const;
export type SubjectTable = keyof typeof SUBJECT_TABLES;
export type TableCounts = Readonly<Record<SubjectTable, number>>;

/** One copy of a subject's record, for the export: where it is and what it holds. */
export interface SubjectCopy {
  readonly table: SubjectTable;
  readonly entityType: string;
  readonly entityKey: string;
  readonly eventId: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

const ENTITIES = 'unnest($1::text[], $2::text[]) AS s(entity_type, entity_key)';
const matches = (t: string) =>
  `${t}.entity_type = s.entity_type AND ${t}.entity_key = s.entity_key`;
const params = (entities: readonly EntityRef[]) => [
  entities.map((e) => e.entityType),
  entities.map((e) => e.entityKey),
];

/**
 * Every copy of the subject's entities here (access / export), or only those written at or before
 * `upTo` (what a rectification must leave none of).
 */
export async function findCopies(
  db: Db,
  entities: readonly EntityRef[],
  upTo?: Hlc,
): Promise<SubjectCopy[]> {
  const parts = (Object.entries(SUBJECT_TABLES) as [SubjectTable, string][]).map(
    ([name, table]) =>
      `SELECT '${name}' AS tbl, t.entity_type, t.entity_key, t.event_id::text, t.payload
         FROM ${table} t JOIN ${ENTITIES} ON ${matches('t')}${upTo ? ` WHERE ${before('t')}` : ''}`,
  );
  const r = await db.query<{
    tbl: SubjectTable;
    entity_type: string;
    entity_key: string;
    event_id: string;
    payload: Record<string, unknown>;
  }>(`${parts.join('\nUNION ALL\n')}\nORDER BY 1, 2, 3, 4`, [
    ...params(entities),
    ...(upTo ? [upTo.wall, upTo.logical] : []),
  ]);
  return r.rows.map((x) => ({
    table: x.tbl,
    entityType: x.entity_type,
    entityKey: x.entity_key,
    eventId: x.event_id,
    payload: x.payload,
  }));
}

/** How many copies each table holds (the completion record of an access request). */
export function countCopies(copies: readonly SubjectCopy[]): TableCounts {
  const out = Object.fromEntries(Object.keys(SUBJECT_TABLES).map((t) => [t, 0])) as Record<
    SubjectTable,
    number
  >;
  for (const c of copies) out[c.table] += 1;
  return out;
}

/** A version written at or before the request's clock (rectify: superseded by the correction). */
const before = (t: string) => `(${t}.hlc_wall, ${t}.hlc_logical) <= ($3::bigint, $4::int)`;

/**
 * Erases the subject's entities here, in one transaction: every copy in the five tables goes (for
 * a rectification, every version written at or before `req.at`: the corrected one, written after,
 * stays) and a tombstone per entity records the request's clock (a later one moves it forward,
 * never back), so none of them comes back. Returns how many rows each table lost.
 */
export function eraseCopies(db: Db, req: SubjectRequest): Promise<TableCounts> {
  const upTo = req.action === 'rectify';
  return transaction(db, async () => {
    const removed = {} as Record<SubjectTable, number>;
    for (const [name, table] of Object.entries(SUBJECT_TABLES) as [SubjectTable, string][]) {
      const r = await db.query<{ n: number }>(
        `WITH gone AS (DELETE FROM ${table} t USING ${ENTITIES}
                        WHERE ${matches('t')}${upTo ? ` AND ${before('t')}` : ''} RETURNING 1)
         SELECT count(*)::int AS n FROM gone`,
        [...params(req.entities), ...(upTo ? [req.at.wall, req.at.logical] : [])],
      );
      removed[name] = r.rows[0]?.n ?? 0;
    }
    await db.query(
      `INSERT INTO meridian_erasure (entity, erased_wall, erased_logical, request_id)
       SELECT unnest($1::text[]), $2, $3, $4
       ON CONFLICT (entity) DO UPDATE
         SET erased_wall = excluded.erased_wall, erased_logical = excluded.erased_logical,
             request_id = excluded.request_id, erased_at = now()
       WHERE (excluded.erased_wall, excluded.erased_logical)
           > (meridian_erasure.erased_wall, meridian_erasure.erased_logical)`,
      [[...new Set(req.entities.map(tombstoneOf))], req.at.wall, req.at.logical, req.requestId],
    );
    return removed;
  });
}

/** How many of the entities have a current version here written after `at` (the correction). */
export async function correctedHere(db: Db, entities: readonly EntityRef[], at: Hlc) {
  const r = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM meridian_replica t JOIN ${ENTITIES} ON ${matches('t')}
      WHERE NOT ${before('t')}`,
    [...params(entities), at.wall, at.logical],
  );
  return r.rows[0]?.n ?? 0;
}
