import fc from 'fast-check';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { type DeployNeed, deployNeeds, deployOrder } from '../../lib/regional/deploy-order';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load, MINIMAL } from '../support/fixture';

/** A deploy sequence that honours every dependency, or undefined when they form a cycle. */
function topologicalOrder(regions: readonly string[], deps: readonly DeployNeed[]) {
  const done: string[] = [];
  let left = [...new Set(regions)];
  while (left.length > 0) {
    const ready = left.filter((r) =>
      deps.every((d) => d.region !== r || done.includes(d.after) || d.after === r),
    );
    if (ready.length === 0) return undefined;
    done.push(...ready);
    left = left.filter((r) => !ready.includes(r));
  }
  return done;
}

describe('deploy order of the eight-regions fixture', () => {
  const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
  const needs = deployNeeds(index);
  const order = deployOrder(needs);

  test('each cell’s primary before the regions that join it; nothing else can be ordered', () => {
    expect(order.dependencies).toEqual([
      { region: 'ap-south-2', after: 'ap-south-1', why: 'cell' },
      { region: 'eu-central-1', after: 'eu-west-1', why: 'cell' },
      { region: 'us-west-2', after: 'us-east-1', why: 'cell' },
    ]);
    // Every other pair replicates (the global class) and follows both ways.
    for (const n of order.unmet)
      expect(needs).toContainEqual(expect.objectContaining({ region: n.after, after: n.region }));
  });

  test('needs include what secondaries take from primaries: objects and search both ways', () => {
    expect(needs).toContainEqual({ region: 'eu-central-1', after: 'eu-west-1', why: 'objects' });
    expect(needs).toContainEqual({ region: 'eu-central-1', after: 'eu-west-1', why: 'search' });
    expect(needs).toContainEqual({ region: 'eu-west-1', after: 'eu-central-1', why: 'objects' });
  });
});

describe('deployOrder on any needs', () => {
  const REGIONS = ['a-1', 'b-1', 'c-1', 'd-1', 'e-1', 'f-1'];
  const region = fc.constantFrom(...REGIONS);
  const need = fc.record({
    region,
    after: region,
    why: fc.constantFrom('objects' as const, 'search' as const),
  });
  /** Cells as a valid config makes them: disjoint, each with its primary among its regions. */
  const cells = fc
    .shuffledSubarray(REGIONS)
    .chain((rs) =>
      fc.array(fc.nat(2), { minLength: rs.length, maxLength: rs.length }).map((k) => ({ rs, k })),
    )
    .map(({ rs, k }) => {
      const groups = new Map<number, string[]>();
      for (const [i, r] of rs.entries()) {
        const cell = k[i] as number;
        groups.set(cell, [...(groups.get(cell) ?? []), r]);
      }
      return [...groups.values()].flatMap(([primary, ...rest]) =>
        rest.map((r): DeployNeed => ({ region: r, after: primary as string, why: 'cell' })),
      );
    });

  test('acyclic, every cell need kept, every other need met or reported, mutual needs never encoded', () => {
    fc.assert(
      fc.property(cells, fc.array(need, { maxLength: 25 }), (cellNeeds, others) => {
        const needs = [...cellNeeds, ...others];
        const { dependencies, unmet } = deployOrder(needs);
        const sequence = topologicalOrder(REGIONS, dependencies);
        expect(sequence).toBeDefined();
        const at = (r: string) => (sequence as string[]).indexOf(r);
        for (const c of cellNeeds) expect(dependencies).toContainEqual(c);
        for (const n of needs) {
          const met = n.region !== n.after && at(n.after) < at(n.region);
          expect(met || unmet.includes(n)).toBe(true);
        }
        for (const d of dependencies.filter((x) => x.why !== 'cell'))
          expect(needs.some((n) => n.region === d.after && n.after === d.region)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('the synthesized app (minimal fixture)', () => {
  const built = buildApp(load(MINIMAL));
  const assembly = built.app.synth();

  test('eu-central-1 deploys after its primary eu-west-1: a manifest dependency, no reference', () => {
    const deps = (name: string) =>
      assembly
        .getStackByName(name)
        .dependencies.map((d) => d.id)
        .filter((id) => id.startsWith('Meridian-') && !id.endsWith('.assets'));
    expect(deps('Meridian-prod-eu-central-1')).toEqual(['Meridian-prod-eu-west-1']);
    expect(deps('Meridian-prod-eu-west-1')).toEqual([]);
    expect(deps('Meridian-prod-us-east-1')).toEqual([]);
    for (const stack of built.stacks) {
      const text = JSON.stringify(assembly.getStackByName(stack.stackName).template);
      expect(text).not.toMatch(/Fn::ImportValue|Fn::GetStackOutput|"Export"/);
    }
  });
});
