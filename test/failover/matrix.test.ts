/**
 * The partition matrix (`npm run drill -- --matrix`, lib/failover/drill/matrix.ts) on the minimal
 * fixture's eu cell: every single-node isolation and every cut link of the writer, at the four
 * instants. The whole matrix over the shipped cells runs in the drill (about two minutes).
 */
import {
  type Cut,
  cutsOf,
  describeCut,
  INSTANTS,
  runMatrix,
} from '../../lib/failover/drill/matrix';
import { loadHandler, minimalRunbooks } from '../support/drill';
import { load, MINIMAL } from '../support/fixture';

test('the cuts: every split once, every node cut one way, every link cut both ways and each way', () => {
  const cuts = cutsOf(['a', 'b', 'c', 'd']).map(describeCut);
  expect(new Set(cuts).size).toBe(cuts.length);
  // 4 single-node sides + 3 two-and-two splits; 8 one-way node cuts; 6 links × 3.
  expect(cuts).toHaveLength(4 + 3 + 8 + 18);
  expect(cuts).toEqual(
    expect.arrayContaining(['a | b+c+d', 'a+b | c+d', 'a -/-> b+c+d', 'b+c+d -/-> a', 'a <-/-> b']),
  );
  expect(cuts).not.toContain('c+d | a+b');
});

test('eu cell: no two writers, no live writer failed over, every due failover within 150 s', async () => {
  const writerCuts = (c: Cut) =>
    c.kind === 'split'
      ? c.side.length === 1
      : c.kind === 'link'
        ? [c.a, c.b].includes('eu-west-1')
        : c.from.length === 1 && c.from[0] === 'eu-central-1';
  const m = await runMatrix(load(MINIMAL), {
    region: 'eu-west-1',
    load: loadHandler,
    runbooks: minimalRunbooks(),
    only: writerCuts,
  });
  expect(m.cells).toEqual(['eu']);
  expect(m.runs).toHaveLength(m.cuts * INSTANTS.length);
  expect(m.failures).toEqual([]);
  // The properties are exercised, not vacuous: failovers were due, live writers were kept.
  expect(m.runs.filter((r) => r.mustFailOver).length).toBeGreaterThan(0);
  expect(m.runs.filter((r) => r.mustNotFailOver).length).toBeGreaterThan(0);
  // The India case on this cell: the takeover region cut from the writer alone, no failure. With
  // two watchers (three regions in all) the other one alone is no majority either: nothing moves.
  const india = m.runs.find(
    (r) => r.cut === 'eu-west-1 <-/-> eu-central-1' && r.instant === 'no-failure',
  );
  expect(india?.splitBrain).toBe(0);
  expect(Object.values(india?.outcomes ?? {})).not.toContain('failed over');
}, 120_000);

test('without the self-fence the same matrix finds two writers: the writer cut off keeps writing', async () => {
  const m = await runMatrix(load(MINIMAL), {
    region: 'eu-west-1',
    load: loadHandler,
    runbooks: minimalRunbooks(),
    only: (c) => c.kind === 'split' && c.side.length === 1 && c.side[0] === 'eu-west-1',
    instants: ['no-failure'],
    world: { selfFence: false },
  });
  expect(m.runs).toHaveLength(1);
  expect(m.failures.map((r) => r.problem)).toEqual([
    expect.stringMatching(/^split-brain: two regions accepted writes/),
  ]);
}, 60_000);
