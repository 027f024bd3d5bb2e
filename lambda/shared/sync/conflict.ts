/**
 * Conflict resolution, pure. Every strategy is deterministic in the set of versions it has seen,
 * whatever order they arrive in and however often, so replicas converge. The SQL guard of the
 * bulk upsert (./sql.ts) implements exactly `compareVersions` / `compareHomeWins`; a property
 * test checks the two against each other on a real Postgres.
 */
import type { ChangeEvent } from './events';
import type { ConflictStrategy } from './rules';

/** A version's position in the total order: HLC, then origin region, then event id. */
export interface Version {
  readonly wall: number;
  readonly logical: number;
  readonly region: string;
  readonly eventId: string;
}

export const versionOf = (e: ChangeEvent): Version => ({
  wall: e.hlc.wall,
  logical: e.hlc.logical,
  region: e.originRegion,
  eventId: e.eventId,
});

const cmpStr = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Total order for last-writer-wins. Strings compare by code unit (Postgres `COLLATE "C"`;
 * lower-case UUIDs compare as Postgres `uuid` does). A tie never depends on arrival order.
 */
export function compareVersions(a: Version, b: Version): number {
  return (
    Math.sign(a.wall - b.wall) ||
    Math.sign(a.logical - b.logical) ||
    cmpStr(a.region, b.region) ||
    cmpStr(a.eventId, b.eventId)
  );
}

/** Home-region-wins: a version written in the home region beats any other, then LWW. */
export function compareHomeWins(home: string, a: Version, b: Version): number {
  return Number(a.region === home) - Number(b.region === home) || compareVersions(a, b);
}

/** A replica's stored state of one entity. */
export interface ReplicaRow {
  readonly entityType: string;
  readonly entityKey: string;
  readonly dataClass: string;
  readonly homeRegion: string;
  /** Winning version (for field-merge: the greatest field clock). */
  readonly version: Version;
  readonly deleted: boolean;
  readonly payload: Readonly<Record<string, unknown>>;
  /** field-merge only: per-field clocks, and the clock of the latest delete (`$deleted`). */
  readonly clocks?: Readonly<Record<string, Version>>;
}

export interface Resolution {
  /** The new state, or undefined when nothing changes (stale or duplicate). */
  readonly row?: ReplicaRow;
  /** A version that lost to another, kept in the history table. */
  readonly loser?: ReplicaRow | ChangeEvent;
  /** Two versions from different regions met. */
  readonly conflict: boolean;
  /** manual: keep both as siblings for review. */
  readonly review: boolean;
}

const DELETED = '$deleted';

function fromEvent(e: ChangeEvent): ReplicaRow {
  return {
    entityType: e.entityType,
    entityKey: e.entityKey,
    dataClass: e.dataClass,
    homeRegion: e.homeRegion,
    version: versionOf(e),
    deleted: e.op === 'delete',
    payload: e.op === 'delete' ? {} : e.payload,
  };
}

function mergeFields(
  current: ReplicaRow | undefined,
  e: ChangeEvent,
  v: Version,
): ReplicaRow | undefined {
  const clocks: Record<string, Version> = current?.clocks ? { ...current.clocks } : {};
  const payload: Record<string, unknown> = current ? { ...current.payload } : {};
  let changed = false;
  if (e.op === 'delete') {
    const c = clocks[DELETED];
    if (c && compareVersions(v, c) <= 0) return undefined;
    clocks[DELETED] = v;
    changed = true;
    for (const field of Object.keys(payload))
      if (compareVersions(clocks[field] as Version, v) < 0) delete payload[field];
  } else {
    const deletedAt = clocks[DELETED];
    // A field written before the latest delete stays deleted.
    const beforeDelete = deletedAt !== undefined && compareVersions(v, deletedAt) < 0;
    const fields = e.payload;
    for (const field of Object.keys(fields)) {
      const c = clocks[field];
      if (c && compareVersions(v, c) <= 0) continue;
      clocks[field] = v;
      changed = true;
      if (beforeDelete) delete payload[field];
      else payload[field] = fields[field];
    }
  }
  if (!changed) return undefined;
  // The row's version is its greatest field clock.
  let version = v;
  for (const c of Object.values(clocks)) if (compareVersions(c, version) > 0) version = c;
  return {
    entityType: e.entityType,
    entityKey: e.entityKey,
    dataClass: e.dataClass,
    homeRegion: e.homeRegion,
    version,
    deleted: Object.keys(payload).length === 0,
    payload,
    clocks,
  };
}

/** Applies one incoming event to the current state under a strategy. */
export function resolve(
  strategy: ConflictStrategy,
  current: ReplicaRow | undefined,
  incoming: ChangeEvent,
): Resolution {
  const v = versionOf(incoming);
  const conflict = current !== undefined && current.version.region !== v.region;
  if (strategy === 'field-merge') {
    const base =
      current && current.clocks === undefined
        ? // A row written under another strategy: its version stands for every field.
          {
            ...current,
            clocks: Object.fromEntries(
              Object.keys(current.payload).map((f) => [f, current.version]),
            ),
          }
        : current;
    const row = mergeFields(base, incoming, v);
    return { row, conflict, review: false };
  }
  if (!current) return { row: fromEvent(incoming), conflict: false, review: false };
  const cmp =
    strategy === 'home-wins'
      ? compareHomeWins(current.homeRegion, v, current.version)
      : compareVersions(v, current.version);
  if (cmp === 0) return { conflict: false, review: false }; // the same event again
  const review = strategy === 'manual' && conflict;
  return cmp > 0
    ? { row: fromEvent(incoming), loser: current, conflict, review }
    : { loser: incoming, conflict, review };
}
