/**
 * A data-subject request as every region's worker receives it, checked as if hostile: ids, entity
 * references and tokens only. The subject's entities are named by the application, which knows
 * which of its entities (a customer, their addresses, their orders) are about one person.
 */
import type { ResidencyIndex } from '../residency-plan';
import type { Hlc } from '../sync/hlc';

/**
 * Where an access request's copies go in each region's data bucket:
 * `<EXPORTS>/<entity hash>/<request id>/<region>.json`.
 */
export const EXPORTS = 'dsr-exports';

/**
 * How long an export stays before the data bucket's lifecycle deletes it (and its old versions a
 * day later): time to hand it over, not a second copy kept for good.
 */
export const EXPORT_RETENTION_DAYS = 30;

/**
 * access: every copy, exported. erase: every copy removed, for good. rectify: after the corrected
 * version was written (through the application, as any change), every version written before it
 * is removed everywhere — history, sent log, review, outbox, a stale current copy, old object
 * versions — and kept from coming back; the corrected version stays and travels as usual.
 */
export const DSR_ACTIONS = ['access', 'erase', 'rectify'] as const;
export type DsrAction = (typeof DSR_ACTIONS)[number];

export interface EntityRef {
  readonly entityType: string;
  readonly entityKey: string;
}

export interface SubjectRequest {
  /** Lower-case UUID: the request's id in every record of it. */
  readonly requestId: string;
  readonly action: DsrAction;
  /** The subject's home jurisdiction (whose law and deadline apply). */
  readonly jurisdiction: string;
  readonly entities: readonly EntityRef[];
  /**
   * erase: when the erasure happened at the home (its HLC); rectify: the last moment before the
   * corrected version was written. Every version at or before it goes.
   */
  readonly at: Hlc;
}

export class SubjectRequestError extends Error {
  override readonly name = 'SubjectRequestError';
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const NAME = /^[A-Za-z0-9_.:-]{1,200}$/;

/** `type:key` → `{entityType, entityKey}` (the first colon splits). */
export function entityRef(id: string): EntityRef {
  const at = id.indexOf(':');
  if (at <= 0 || at === id.length - 1)
    throw new SubjectRequestError('subject: expected <entity type>:<entity key>');
  const ref = { entityType: id.slice(0, at), entityKey: id.slice(at + 1) };
  if (!NAME.test(ref.entityType) || !NAME.test(ref.entityKey))
    throw new SubjectRequestError('subject: a type and key of letters, digits, _ . : -');
  return ref;
}

/** Validates a request; throws SubjectRequestError naming every fault (never a value). */
export function parseSubjectRequest(raw: unknown): SubjectRequest {
  const r = (raw ?? {}) as Record<string, unknown>;
  const faults: string[] = [];
  if (typeof r.requestId !== 'string' || !UUID.test(r.requestId))
    faults.push('requestId: expected a lower-case UUID');
  if (!DSR_ACTIONS.includes(r.action as DsrAction))
    faults.push(`action: expected ${DSR_ACTIONS.slice(0, -1).join(', ')} or ${DSR_ACTIONS.at(-1)}`);
  if (typeof r.jurisdiction !== 'string' || !/^[a-z][a-z0-9-]{0,30}$/.test(r.jurisdiction))
    faults.push('jurisdiction: expected a jurisdiction id');
  const entities = Array.isArray(r.entities) ? r.entities : [];
  if (
    entities.length === 0 ||
    entities.length > 1000 ||
    !entities.every(
      (e) =>
        e &&
        typeof e === 'object' &&
        NAME.test(String((e as EntityRef).entityType)) &&
        NAME.test(String((e as EntityRef).entityKey)),
    )
  )
    faults.push('entities: expected 1 to 1000 {entityType, entityKey}');
  const at = (r.at ?? {}) as Record<string, unknown>;
  if (!Number.isSafeInteger(at.wall) || !Number.isSafeInteger(at.logical))
    faults.push('at: expected {wall, logical} integers');
  if (faults.length > 0) throw new SubjectRequestError(faults.join('; '));
  return r as unknown as SubjectRequest;
}

/** The classes that identify someone (`personalData`, true unless a class says otherwise). */
export const personalClasses = (index: ResidencyIndex): string[] =>
  index.plan.dataClasses.filter((c) => c.personalData).map((c) => c.id);

/**
 * Every region a subject's records may have reached, by the plan: its home cell (full copies)
 * and each region any of `classes` may go to from the home's writer (full or masked), which is
 * where sync sends and nowhere else.
 */
export function reachOf(
  index: ResidencyIndex,
  jurisdiction: string,
  classes: readonly string[],
): string[] {
  const cell = index.plan.cells.find((c) => c.jurisdiction === jurisdiction);
  if (!cell) throw new SubjectRequestError(`jurisdiction: ${jurisdiction} is no cell of the plan`);
  const out = new Set<string>(cell.regions);
  for (const r of index.plan.regions)
    for (const c of classes) {
      const d = index.decide(c, cell.primary, r.id, { consent: true });
      if (d.allowed) out.add(r.id);
    }
  return [...out].sort();
}
