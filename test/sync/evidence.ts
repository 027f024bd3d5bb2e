/**
 * Issue 17 item 4: what a run leaves as evidence (audit objects, reports, park reasons) must not
 * carry a value of a record. `leaks` returns every string of `evidence` that is an entity key of
 * `records` or contains one of their payload's string values (longer than four characters, so a
 * short value cannot match inside an id by chance).
 */
import type { ChangeEvent } from '../../lambda/shared/sync/events';

const leaves = (x: unknown): string[] =>
  typeof x === 'string' ? [x] : x && typeof x === 'object' ? Object.values(x).flatMap(leaves) : [];

export function leaks(evidence: readonly unknown[], records: readonly ChangeEvent[]): string[] {
  const keys = new Set(records.map((e) => e.entityKey));
  const values = records.flatMap((e) => leaves(e.payload)).filter((v) => v.length > 4);
  const strings = evidence.flatMap(leaves);
  if (strings.length === 0) throw new Error('no evidence to check: the check would pass vacuously');
  return strings.filter((s) => keys.has(s) || values.some((v) => s.includes(v)));
}
