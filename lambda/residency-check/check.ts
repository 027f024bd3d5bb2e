/**
 * The residency check step of the sync pipeline, as a pure function: for each record, may it be
 * sent from its home region to the target region, and in which form (full or masked)?
 */
import type { Decision, ResidencyIndex } from '../shared/residency-plan';

export interface CheckRecord {
  readonly id: string;
  readonly dataClass: string;
  /** Home region of the record. @default - the request's `from` */
  readonly from?: string;
  /** Its subject consented to transfers that rest on consent. @default false */
  readonly consent?: boolean;
}

export interface CheckRequest {
  readonly from: string;
  readonly to: string;
  readonly records: readonly CheckRecord[];
}

export type CheckResult = { readonly id: string } & Decision;

export interface CheckResponse {
  readonly to: string;
  readonly allowed: number;
  readonly denied: number;
  readonly results: readonly CheckResult[];
}

export class InvalidRequestError extends Error {
  override readonly name = 'InvalidRequestError';
}

/** Validates the shape of an incoming event; throws InvalidRequestError listing every fault. */
export function parseCheckRequest(event: unknown): CheckRequest {
  const faults: string[] = [];
  const e = (event ?? {}) as Record<string, unknown>;
  if (typeof e.from !== 'string' || e.from === '') faults.push('from: expected a region id string');
  if (typeof e.to !== 'string' || e.to === '') faults.push('to: expected a region id string');
  if (!Array.isArray(e.records)) faults.push('records: expected an array');
  else {
    e.records.forEach((r: unknown, i) => {
      const rec = (r ?? {}) as Record<string, unknown>;
      if (typeof rec.id !== 'string') faults.push(`records[${i}].id: expected a string`);
      if (typeof rec.dataClass !== 'string')
        faults.push(`records[${i}].dataClass: expected a string`);
      if (rec.from !== undefined && typeof rec.from !== 'string')
        faults.push(`records[${i}].from: expected a string`);
      if (rec.consent !== undefined && typeof rec.consent !== 'boolean')
        faults.push(`records[${i}].consent: expected true or false`);
    });
  }
  if (faults.length > 0) throw new InvalidRequestError(faults.join('; '));
  return e as unknown as CheckRequest;
}

export function checkRecords(index: ResidencyIndex, request: CheckRequest): CheckResponse {
  const results = request.records.map(
    (r): CheckResult => ({
      id: r.id,
      ...index.decide(r.dataClass, r.from ?? request.from, request.to, {
        consent: r.consent === true,
      }),
    }),
  );
  const allowed = results.filter((r) => r.allowed).length;
  return { to: request.to, allowed, denied: results.length - allowed, results };
}
