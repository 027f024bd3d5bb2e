/** fast-check arbitraries shared by the sync property tests. */
import fc from 'fast-check';
import type { ChangeEvent } from '../../lambda/shared/sync/events';
import { uuid } from './events';

export const REGIONS = ['eu-west-1', 'us-east-1', 'ap-southeast-1'];
export const FIELDS = ['a', 'b', 'c'];

/** Concurrent writes to two entities from three regions, with colliding clocks. */
export const writes = fc
  .array(
    fc.record({
      key: fc.constantFrom('k1', 'k2'),
      region: fc.constantFrom(...REGIONS),
      wall: fc.integer({ min: 0, max: 4 }),
      logical: fc.integer({ min: 0, max: 1 }),
      op: fc.constantFrom<'upsert' | 'delete'>('upsert', 'upsert', 'upsert', 'delete'),
      fields: fc.subarray(FIELDS, { minLength: 1 }),
      value: fc.integer({ min: 0, max: 9 }),
    }),
    { minLength: 1, maxLength: 12 },
  )
  .map((ws) =>
    ws.map(
      (w, i): ChangeEvent => ({
        eventId: uuid(`prop-${i}-${w.region}-${w.wall}`),
        entityType: 't',
        entityKey: w.key,
        dataClass: 'c',
        homeRegion: 'eu-west-1',
        originRegion: w.region,
        hlc: { wall: 1_000 + w.wall, logical: w.logical },
        op: w.op,
        payload: w.op === 'delete' ? {} : Object.fromEntries(w.fields.map((f) => [f, w.value])),
      }),
    ),
  );

/** Any delivery: a permutation with some events duplicated (redeliveries). */
export const delivery = (events: readonly ChangeEvent[]) =>
  fc
    .tuple(
      fc.shuffledSubarray([...events], { minLength: events.length, maxLength: events.length }),
      fc.array(fc.nat({ max: events.length - 1 }), { maxLength: 5 }),
      fc.nat(),
    )
    .map(([order, dups, seed]) => {
      const out = [...order];
      for (const [i, d] of dups.entries())
        out.splice((seed + i) % (out.length + 1), 0, events[d] as ChangeEvent);
      return out;
    });
