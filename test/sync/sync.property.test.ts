import fc from 'fast-check';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { type ReplicaRow, resolve } from '../../lambda/shared/sync/conflict';
import { buildMessage } from '../../lambda/shared/sync/dispatch';
import type { ChangeEvent } from '../../lambda/shared/sync/events';
import { Masker } from '../../lambda/shared/sync/masking';
import { CONFLICT_STRATEGIES, type ConflictStrategy } from '../../lambda/shared/sync/rules';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { delivery, writes } from './arbitraries';
import { uuid } from './events';

/** A replica: the resolved state per entity, from events in the order they arrive. */
function replay(strategy: ConflictStrategy, events: readonly ChangeEvent[]) {
  const state = new Map<string, ReplicaRow>();
  for (const e of events) {
    const r = resolve(strategy, state.get(e.entityKey), e);
    if (r.row) state.set(e.entityKey, r.row);
  }
  return Object.fromEntries(
    [...state]
      .sort()
      .map(([k, row]) => [k, { payload: row.payload, deleted: row.deleted, version: row.version }]),
  );
}

describe.each(CONFLICT_STRATEGIES)('%s (property, 1,000 runs)', (strategy) => {
  test('replicas receiving the same writes in any order, with redeliveries, converge', () => {
    fc.assert(
      fc.property(
        writes.chain((events) => fc.tuple(fc.constant(events), delivery(events), delivery(events))),
        ([events, first, second]) => {
          const reference = replay(strategy, events);
          expect(replay(strategy, first)).toEqual(reference);
          expect(replay(strategy, second)).toEqual(reference);
        },
      ),
      { numRuns: 1000 },
    );
  });

  test('applying an event a second time changes nothing', () => {
    fc.assert(
      fc.property(writes, fc.nat(), (events, pick) => {
        const e = events[pick % events.length] as ChangeEvent;
        const once = replay(strategy, events);
        expect(replay(strategy, [...events, e])).toEqual(once);
        const state = new Map<string, ReplicaRow>();
        for (const x of events) {
          const r = resolve(strategy, state.get(x.entityKey), x);
          if (r.row) state.set(x.entityKey, r.row);
        }
        expect(resolve(strategy, state.get(e.entityKey), e).row).toBeUndefined();
      }),
      { numRuns: 1000 },
    );
  });
});

describe('masking (property, 1,000 runs)', () => {
  const config = load(EIGHT_REGIONS);
  const index = new ResidencyIndex(config.plan);
  const masker = new Masker((c) => index.rulesOf(c)?.masking, {
    pseudonymKey: Buffer.from('k'),
    dataKey: { plaintext: Buffer.alloc(32, 1), wrapped: 'V1JBUA==' },
  });
  const regions = config.regions.map((r) => r.id);
  const classes = config.plan.dataClasses.map((c) => c.id);
  /** Values that cannot occur by chance inside tokens or other values. */
  const secret = fc
    .uint8Array({ minLength: 8, maxLength: 8 })
    .map((b) => `S${Buffer.from(b).toString('hex')}S`);
  const payload = fc.dictionary(
    fc.constantFrom('customerId', 'email', 'phone', 'name', 'taxId', 'country', 'notes', 'address'),
    fc.oneof(secret, fc.record({ city: secret, street: secret })),
    { minKeys: 1 },
  );

  test('no restricted field ever appears unmasked in a target outside its jurisdiction', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...classes),
        fc.constantFrom(...regions),
        fc.constantFrom(...regions),
        payload,
        (dataClass, home, target, data) => {
          const decision = index.decide(dataClass, home, target);
          if (!decision.allowed) return; // withheld: nothing is sent at all
          const e: ChangeEvent = {
            eventId: uuid('m'),
            entityType: 't',
            entityKey: 'k',
            dataClass,
            homeRegion: home,
            originRegion: home,
            hlc: { wall: 1, logical: 0 },
            op: 'upsert',
            payload: data,
          };
          const sent = JSON.stringify(
            buildMessage(index, masker, e, target, home, decision.mode).event.payload,
          );
          const cls = config.plan.dataClasses.find((c) => c.id === dataClass);
          const leavesJurisdiction = index.jurisdictionOf(home) !== index.jurisdictionOf(target);
          if (cls?.scope === 'jurisdiction' && leavesJurisdiction) {
            expect(decision.mode).toBe('masked');
            const rules = index.rulesOf(dataClass)?.masking;
            const kept = new Set(
              Object.entries({
                ...rules?.fields,
                ...rules?.jurisdictions[index.jurisdictionOf(target) ?? ''],
              })
                .filter(([, a]) => a === 'keep')
                .map(([p]) => p),
            );
            const leaves = Object.entries(data).flatMap(([field, value]) =>
              typeof value === 'string'
                ? [[field, value] as const]
                : Object.entries(value).map(([k, v]) => [`${field}.${k}`, v] as const),
            );
            const isKept = (path: string) =>
              kept.has(path) || kept.has(path.split('.')[0] as string);
            // A value also held by a kept field may legitimately appear.
            const allowed = new Set(leaves.filter(([p]) => isKept(p)).map(([, v]) => v));
            for (const [path, v] of leaves)
              if (!isKept(path) && !allowed.has(v)) expect(sent).not.toContain(v);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
