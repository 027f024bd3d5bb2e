import fc from 'fast-check';
import {
  computeResidencyPlan,
  ResidencyIndex,
  type ResidencyInput,
  TRANSFER_BASES,
} from '../../lambda/shared/residency-plan';

/** Random but well-formed inputs: 1–4 jurisdictions, 1–5 classes, 1–7 regions. */
const inputs: fc.Arbitrary<ResidencyInput> = fc
  .record({
    jCount: fc.integer({ min: 1, max: 4 }),
    classes: fc.array(
      fc.record({
        scope: fc.constantFrom('global' as const, 'jurisdiction' as const),
        maskedProjection: fc.boolean(),
        requiresEncryption: fc.boolean(),
        personalData: fc.boolean(),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    regionJurisdictions: fc.array(fc.nat(), { minLength: 1, maxLength: 7 }),
    flags: fc.array(
      fc.record({
        localise: fc.array(fc.nat()),
        exportTo: fc.array(fc.nat()),
        transfers: fc.array(fc.record({ to: fc.nat(), basis: fc.constantFrom(...TRANSFER_BASES) })),
      }),
      {
        minLength: 4,
        maxLength: 4,
      },
    ),
  })
  .map(({ jCount, classes, regionJurisdictions, flags }) => {
    const js = Array.from({ length: jCount }, (_, i) => `j${i}`);
    const cs = classes.map((_, i) => `c${i}`);
    return {
      dataClasses: Object.fromEntries(classes.map((c, i) => [`c${i}`, c])),
      jurisdictions: Object.fromEntries(
        js.map((j, i) => {
          const f = flags[i] ?? { localise: [], exportTo: [], transfers: [] };
          return [
            j,
            {
              name: j,
              residencyBound: i % 2 === 0,
              countries: [],
              localisedClasses: f.localise.map((n) => cs[n % cs.length] as string),
              maskedExportTo: f.exportTo
                .map((n) => js[n % js.length] as string)
                .filter((x) => x !== j),
              transfers: Object.fromEntries(
                f.transfers.map((t) => [
                  js[t.to % js.length] as string,
                  { basis: t.basis, reference: `ref ${t.basis}` },
                ]),
              ),
            },
          ];
        }),
      ),
      regions: regionJurisdictions.map((n, i) => ({
        id: `r${i}`,
        jurisdiction: js[n % js.length] as string,
        tier: i === 0 ? ('primary' as const) : ('secondary' as const),
        failoverPriority: i + 1,
        capacity: 10,
        countries: [],
      })),
    };
  });

const jurisdictionOf = (input: ResidencyInput, id: string) =>
  input.regions.find((r) => r.id === id)?.jurisdiction as string;

describe('residency plan properties', () => {
  test('restricted data never leaves its jurisdiction in full', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        for (const e of computeResidencyPlan(input).edges) {
          const home = input.jurisdictions[jurisdictionOf(input, e.from)];
          const cls = input.dataClasses[e.dataClass];
          const restricted =
            cls?.scope === 'jurisdiction' || home?.localisedClasses.includes(e.dataClass);
          if (e.crossJurisdiction && e.mode === 'full' && restricted) return false;
        }
        return true;
      }),
    );
  });

  test('masked edges go only where the home jurisdiction allows masked export', () => {
    fc.assert(
      fc.property(inputs, (input) =>
        computeResidencyPlan(input)
          .edges.filter((e) => e.mode === 'masked')
          .every((e) => {
            const home = input.jurisdictions[jurisdictionOf(input, e.from)];
            return (
              input.dataClasses[e.dataClass]?.maskedProjection === true &&
              home?.maskedExportTo.includes(jurisdictionOf(input, e.to)) === true
            );
          }),
      ),
    );
  });

  test('inside a jurisdiction every class replicates in full', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const index = new ResidencyIndex(computeResidencyPlan(input));
        return input.regions.every((a) =>
          input.regions.every((b) =>
            Object.keys(input.dataClasses).every((c) => {
              if (a.jurisdiction !== b.jurisdiction) return true;
              const d = index.decide(c, a.id, b.id);
              return d.allowed && d.mode === 'full';
            }),
          ),
        );
      }),
    );
  });

  test("every border crossing carries its basis: not personal data, or the home's transfer entry", () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const index = new ResidencyIndex(computeResidencyPlan(input));
        return computeResidencyPlan(input).edges.every((e) => {
          if (!e.crossJurisdiction) return e.basis === undefined;
          const home = jurisdictionOf(input, e.from);
          const expected =
            input.dataClasses[e.dataClass]?.personalData === false
              ? 'not-personal-data'
              : input.jurisdictions[home]?.transfers?.[jurisdictionOf(input, e.to)]?.basis;
          if (e.basis?.basis !== expected || expected === undefined) return false;
          // Consent edges carry a record only with consent, and never a whole store.
          const withConsent = index.decide(e.dataClass, e.from, e.to, { consent: true }).allowed;
          const without = index.decide(e.dataClass, e.from, e.to, { consent: false }).allowed;
          const store = index.decide(e.dataClass, e.from, e.to).allowed;
          return expected === 'consent'
            ? withConsent && !without && !store
            : withConsent && without && store;
        });
      }),
    );
  });

  test('decide() agrees with the edge list, and every pair is decided once', () => {
    fc.assert(
      fc.property(inputs, (input) => {
        const plan = computeResidencyPlan(input);
        const index = new ResidencyIndex(plan);
        const allowed = new Set(plan.edges.map((e) => `${e.dataClass}/${e.from}/${e.to}`));
        const n = input.regions.length;
        if (plan.edges.length + plan.denied.length !== n * (n - 1) * plan.dataClasses.length)
          return false;
        return (
          plan.denied.every(
            (d) =>
              !allowed.has(`${d.dataClass}/${d.from}/${d.to}`) &&
              !index.decide(d.dataClass, d.from, d.to).allowed,
          ) &&
          plan.edges.every(
            (e) => index.decide(e.dataClass, e.from, e.to, { consent: true }).allowed,
          )
        );
      }),
    );
  });
});
