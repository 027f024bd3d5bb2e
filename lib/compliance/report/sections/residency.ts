/** The residency matrix: which jurisdictions' records of each class each region may hold. */
import { ResidencyIndex, type ResidencyPlan } from '../../../../lambda/shared/residency-plan';
import type { Section } from '../section';
import type { RegionInfo } from './regions';

/** Who may have a class's records in one region. */
export interface ResidencyCell {
  /** The region's own jurisdiction. */
  readonly own: string;
  /** Other jurisdictions whose records may arrive in full. */
  readonly full: readonly string[];
  /** Other jurisdictions whose records may arrive only as the masked projection. */
  readonly masked: readonly string[];
  /** Of those, the ones whose records arrive only when their subject consented. */
  readonly onConsent: readonly string[];
}

export interface ResidencyRow {
  readonly dataClass: string;
  readonly scope: string;
  /** Per region, in the order of the report's regions. */
  readonly cells: readonly ResidencyCell[];
}

export function residencyOf(
  plan: ResidencyPlan | undefined,
  regions: readonly RegionInfo[],
): ResidencyRow[] {
  if (!plan) return [];
  const index = new ResidencyIndex(plan);
  return plan.dataClasses.map((c) => ({
    dataClass: c.id,
    scope: c.scope,
    cells: regions.map((r) => {
      const own = r.jurisdiction;
      const full = new Set<string>();
      const masked = new Set<string>();
      const onConsent = new Set<string>();
      for (const from of regions) {
        if (from.jurisdiction === own) continue;
        const d = index.decide(c.id, from.region, r.region, { consent: true });
        if (!d.allowed) continue;
        (d.mode === 'full' ? full : masked).add(from.jurisdiction);
        if (d.basis?.basis === 'consent') onConsent.add(from.jurisdiction);
      }
      return {
        own,
        full: [...full].sort(),
        masked: [...masked].filter((j) => !full.has(j)).sort(),
        onConsent: [...onConsent].sort(),
      };
    }),
  }));
}

// Wording.

const cellText = (c: ResidencyCell) => {
  const j = (x: string) => (c.onConsent.includes(x) ? `${x} (on consent)` : x);
  return [
    c.own,
    ...c.full.map(j),
    ...(c.masked.length ? [`masked: ${c.masked.map(j).join(' ')}`] : []),
  ].join(' · ');
};

export function residencySection(
  rows: readonly ResidencyRow[],
  regions: readonly RegionInfo[],
  planAsset: string | undefined,
): Section {
  return {
    id: 'residency',
    title: 'Residency matrix (data class × region)',
    intro: `Which jurisdictions' records of each class may be stored in each region, decided by the residency plan the sync Lambdas carry (${planAsset ? `\`${planAsset}\`` : 'plan asset not found'}). The region's own jurisdiction is listed first; "masked:" means only the masked projection may arrive; "on consent": only records whose subject consented.`,
    table: {
      columns: ['Class', 'Scope', ...regions.map((x) => x.region)],
      rows: rows.map((x) => [x.dataClass, x.scope, ...x.cells.map(cellText)]),
    },
  };
}
