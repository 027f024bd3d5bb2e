/**
 * Tombstones of erased entities (migration 6): what an erasure removed stays removed. Apply and
 * local writes drop every version of a tombstoned entity written at or before its erasure; a
 * later version applies as usual.
 */
import { createHash } from 'node:crypto';
import type { Db } from './db';
import type { ChangeEvent } from './events';
import { compareHlc, type Hlc } from './hlc';

/** What a tombstone names: SHA-256 of `type:key`, hex — the same in every region, never the key. */
export const tombstoneOf = (e: Pick<ChangeEvent, 'entityType' | 'entityKey'>): string =>
  createHash('sha256').update(`${e.entityType}:${e.entityKey}`).digest('hex');

/**
 * The events of `events` that an erasure removed for good (their ids). The hash is computed by
 * Postgres inside the join, from the entity ids the statement is given: 1.6 ms per 1,000 events
 * against 4.2 ms hashing in JavaScript and sending the hashes (measured on the local server), and
 * next to nothing to look up while the tombstone table is empty.
 */
export async function erasedEvents(db: Db, events: readonly ChangeEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const r = await db.query<{
    i: string | number;
    erased_wall: string | number;
    erased_logical: number;
  }>(
    `SELECT u.i, e.erased_wall, e.erased_logical
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS u(entity_type, entity_key, i)
       JOIN meridian_erasure e
         ON e.entity = encode(sha256(convert_to(u.entity_type || ':' || u.entity_key, 'UTF8')), 'hex')`,
    [events.map((e) => e.entityType), events.map((e) => e.entityKey)],
  );
  const out = new Set<string>();
  for (const x of r.rows) {
    const e = events[Number(x.i) - 1];
    const at: Hlc = { wall: Number(x.erased_wall), logical: x.erased_logical };
    if (e && compareHlc(e.hlc, at) <= 0) out.add(e.eventId);
  }
  return out;
}
