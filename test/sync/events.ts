/** Builders for sync tests. */
import { createHash } from 'node:crypto';
import type { ChangeEvent } from '../../lambda/shared/sync/events';

/** A deterministic lower-case UUID from a seed. */
export function uuid(seed: string | number): string {
  const h = createHash('sha256').update(String(seed)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export function change(over: Partial<ChangeEvent> & { seed?: string | number } = {}): ChangeEvent {
  const { seed = Math.random(), ...rest } = over;
  return {
    eventId: uuid(seed),
    entityType: 'customer',
    entityKey: 'c-1',
    dataClass: 'public',
    homeRegion: 'eu-west-1',
    originRegion: 'eu-west-1',
    hlc: { wall: 1_700_000_000_000, logical: 0 },
    op: 'upsert',
    payload: { name: 'Ada' },
    ...rest,
  };
}
