import * as fs from 'node:fs';
import * as path from 'node:path';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { load, USER_REGIONS } from '../support/fixture';

/**
 * The example suite: what must hold for *your* `regions/` (the shipped example, or your fork's),
 * whatever regions and jurisdictions it names. Behaviour tests use test/fixtures/; this file and
 * `npm run synth` (every stack, the compliance packs, and the committed report, which
 * `npm run synth` regenerates) are what check the regions you deploy.
 */
const overlays = fs.existsSync(path.join(USER_REGIONS, 'overlays'))
  ? fs
      .readdirSync(path.join(USER_REGIONS, 'overlays'))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => f.replace(/\.ya?ml$/, ''))
  : [];

describe.each(['prod', ...overlays])('regions/ (%s)', (env) => {
  const config = load(USER_REGIONS, { env });
  const { plan } = config;
  const index = new ResidencyIndex(plan);
  const classes = new Map(plan.dataClasses.map((c) => [c.id, c]));

  test('every region is in exactly one cell, whose primary is one of its regions', () => {
    for (const r of plan.regions)
      expect(plan.cells.filter((c) => c.regions.includes(r.id)).map((c) => c.jurisdiction)).toEqual(
        [r.jurisdiction],
      );
    for (const c of plan.cells) expect(c.regions).toContain(c.primary);
  });

  test('the plan decides every class for every ordered pair of regions, once', () => {
    for (const dc of plan.dataClasses)
      for (const from of plan.regions)
        for (const to of plan.regions) {
          if (from.id === to.id) continue;
          const decided = [...plan.edges, ...plan.denied].filter(
            (e) => e.dataClass === dc.id && e.from === from.id && e.to === to.id,
          );
          expect(decided).toHaveLength(1);
        }
  });

  test('jurisdiction-scoped data leaves its jurisdiction masked or not at all', () => {
    const leaks = plan.edges.filter(
      (e) =>
        e.crossJurisdiction &&
        e.mode === 'full' &&
        classes.get(e.dataClass)?.scope === 'jurisdiction',
    );
    expect(leaks).toEqual([]);
  });

  test('classes that require encryption replicate encrypted', () => {
    const plain = plan.edges.filter(
      (e) => classes.get(e.dataClass)?.requiresEncryption && !e.encrypted,
    );
    expect(plain).toEqual([]);
  });

  test('every border crossing rests on a basis from regions/global.yaml', () => {
    expect(plan.edges.filter((e) => e.crossJurisdiction && !e.basis)).toEqual([]);
  });

  test('run-time decisions are the synth-time plan', () => {
    for (const e of plan.edges) {
      // A record whose subject consented goes wherever the plan allows; a transfer that rests on
      // consent carries no other record, and no store copying a whole class.
      expect(index.decide(e.dataClass, e.from, e.to, { consent: true })).toMatchObject({
        allowed: true,
        mode: e.mode,
      });
      if (e.basis?.basis === 'consent')
        for (const record of [{ consent: false }, undefined])
          expect(index.decide(e.dataClass, e.from, e.to, record)).toMatchObject({ allowed: false });
    }
    for (const d of plan.denied)
      expect(index.decide(d.dataClass, d.from, d.to)).toMatchObject({ allowed: false });
  });
});
