import fc from 'fast-check';
import type { MeridianConfig } from '../../lib/config/load';
import { cloudflareFallbackKeepsResidency } from '../../lib/config/rules';
import { CLOUDFLARE_REGIONS } from '../../lib/config/schema';
import { computeEdgePlan, edgeResidencyViolations, HOLDING, steer } from '../../lib/edge/edge-plan';
import { EIGHT_REGIONS, load } from '../support/fixture';

const shipped = load(EIGHT_REGIONS);
const jurisdictions = Object.keys(shipped.global.jurisdictions);
const regionIds = shipped.regions.map((r) => r.id);
const countries = [
  ...new Set(Object.values(shipped.global.jurisdictions).flatMap((j) => j.countries)),
  'BR',
  'GB',
  'ZA',
];

/** A variant of the shipped config: which jurisdictions are bound, the fallback, Cloudflare regions. */
const variant = fc
  .record({
    bound: fc.subarray(jurisdictions),
    fallback: fc.constantFrom(HOLDING, ...regionIds),
    claims: fc.array(fc.subarray([...CLOUDFLARE_REGIONS], { maxLength: 3 }), {
      minLength: regionIds.length,
      maxLength: regionIds.length,
    }),
  })
  .map(({ bound, fallback, claims }): MeridianConfig => {
    const global = {
      ...shipped.global,
      cloudflare: { ...shipped.global.cloudflare, fallback },
      jurisdictions: Object.fromEntries(
        Object.entries(shipped.global.jurisdictions).map(([id, j]) => [
          id,
          { ...j, residencyBound: bound.includes(id) },
        ]),
      ),
    };
    const regions = shipped.regions.map((r, i) => ({
      ...r,
      cloudflare: { ...r.cloudflare, regions: claims[i] ?? [] },
    }));
    return { ...shipped, global, regions };
  });

const client = fc.record({
  country: fc.constantFrom(...countries),
  cloudflareRegion: fc.constantFrom(...CLOUDFLARE_REGIONS, 'XX'),
});

describe('edge residency (property)', () => {
  test('the config rule rejects exactly the configs whose edge could leave a jurisdiction', () => {
    fc.assert(
      fc.property(variant, (config) => {
        const ruleFindings = cloudflareFallbackKeepsResidency({
          global: config.global,
          regions: new Map(config.regions.map((r) => [r.id, r])),
        });
        const violations = edgeResidencyViolations(config, computeEdgePlan(config));
        expect(violations.length > 0).toBe(ruleFindings.length > 0);
      }),
      { numRuns: 1000 },
    );
  });

  test('for any accepted config, any health state and any client, a bound country stays home', () => {
    fc.assert(
      fc.property(
        variant,
        client,
        fc.subarray([...regionIds, HOLDING]),
        (config, who, healthyList) => {
          const plan = computeEdgePlan(config);
          fc.pre(edgeResidencyViolations(config, plan).length === 0);
          const home = Object.entries(config.global.jurisdictions).find(
            ([, j]) => j.residencyBound && j.countries.includes(who.country),
          )?.[0];
          const pool = steer(plan, who, new Set(healthyList));
          if (home) {
            const served = config.regions.find((r) => r.id === pool)?.jurisdiction;
            expect(pool === HOLDING || served === home).toBe(true);
          }
          // Every client always gets some pool.
          expect(plan.pools.map((p) => p.key)).toContain(pool);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
