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

/** The events of `events` that an erasure removed for good (their ids). */
export async function erasedEvents(db: Db, events: readonly ChangeEvent[]): Promise<Set<string>> {
  if (events.length === 0) return new Set();
  const hashes = events.map(tombstoneOf);
  const r = await db.query<{
    entity: string;
    erased_wall: string | number;
    erased_logical: number;
  }>(
    'SELECT entity, erased_wall, erased_logical FROM meridian_erasure WHERE entity = ANY($1::text[])',
    [[...new Set(hashes)]],
  );
  if (r.rows.length === 0) return new Set();
  const at = new Map<string, Hlc>(
    r.rows.map((x) => [x.entity, { wall: Number(x.erased_wall), logical: x.erased_logical }]),
  );
  const out = new Set<string>();
  events.forEach((e, i) => {
    const t = at.get(hashes[i] as string);
    if (t && compareHlc(e.hlc, t) <= 0) out.add(e.eventId);
  });
  return out;
}
