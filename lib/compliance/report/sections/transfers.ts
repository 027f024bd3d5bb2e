/**
 * Cross-border transfers: every pair of jurisdictions the residency plan lets data cross between,
 * the classes that cross and how (full or masked), and the legal basis each rests on, from the
 * plan the sync Lambdas carry. A crossing with no basis cannot be in a plan computed from a valid
 * `regions/` (synth refuses it); one found here anyway is a gap.
 */
import type {
  EdgeBasis,
  ReplicationMode,
  ResidencyPlan,
} from '../../../../lambda/shared/residency-plan';
import type { Section } from '../section';

export interface Transfer {
  readonly from: string;
  readonly to: string;
  /** The classes that cross on this basis, each with its mode, sorted. */
  readonly classes: readonly { readonly dataClass: string; readonly mode: ReplicationMode }[];
  /** Absent: the plan carries the crossing with no basis. */
  readonly basis?: EdgeBasis;
}

export function transfersOf(plan: ResidencyPlan | undefined): Transfer[] {
  if (!plan) return [];
  const jurisdictionOf = new Map(plan.regions.map((r) => [r.id, r.jurisdiction]));
  const groups = new Map<
    string,
    { from: string; to: string; basis?: EdgeBasis; classes: Map<string, ReplicationMode> }
  >();
  for (const e of plan.edges) {
    if (!e.crossJurisdiction) continue;
    const from = jurisdictionOf.get(e.from) ?? e.from;
    const to = jurisdictionOf.get(e.to) ?? e.to;
    // Classes that identify no one cross together, whatever class each reference names.
    const basis: EdgeBasis | undefined =
      e.basis?.basis === 'not-personal-data'
        ? { basis: 'not-personal-data', reference: 'personalData: false' }
        : e.basis;
    const key = JSON.stringify([from, to, basis?.basis ?? null, basis?.reference ?? null]);
    const g = groups.get(key) ?? { from, to, ...(basis ? { basis } : {}), classes: new Map() };
    g.classes.set(e.dataClass, e.mode);
    groups.set(key, g);
  }
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      from: g.from,
      to: g.to,
      classes: [...g.classes.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([dataClass, mode]) => ({ dataClass, mode })),
      ...(g.basis ? { basis: g.basis } : {}),
    }));
}

// Wording.

const BASIS_LABEL: Record<EdgeBasis['basis'], string> = {
  adequacy: 'adequacy decision',
  'contractual-clauses': 'contractual clauses',
  'binding-corporate-rules': 'binding corporate rules',
  consent: "data subject's consent (per record; sync only)",
  'not-restricted': 'not restricted by the home law',
  'not-personal-data': 'not personal data',
};

/** The same, short enough for a diagram label. */
const BASIS_SHORT: Record<EdgeBasis['basis'], string> = {
  adequacy: 'adequacy',
  'contractual-clauses': 'contractual clauses',
  'binding-corporate-rules': 'BCRs',
  consent: 'consent',
  'not-restricted': 'not restricted',
  'not-personal-data': 'not personal data',
};

export function basisShort(b: EdgeBasis | undefined): string {
  return b ? BASIS_SHORT[b.basis] : 'NO BASIS';
}

export function basisText(b: EdgeBasis | undefined): string {
  return b ? BASIS_LABEL[b.basis] : 'NO BASIS';
}

export function transfersSection(transfers: readonly Transfer[]): Section {
  return {
    id: 'transfers',
    title: 'Cross-border transfers and their legal basis',
    intro:
      "Every pair of jurisdictions data may cross between, from the residency plan: the classes that cross (full, or only the masked projection) and the basis the home jurisdiction's `transfers` entry in `regions/global.yaml` records for it. A class marked `personalData: false` crosses as not personal data. A transfer that rests on consent carries only the records whose outbox row says the subject consented, and only through sync: no store replicates such a class across.",
    table: {
      columns: ['From', 'To', 'Classes', 'Basis', 'Reference'],
      rows: transfers.map((t) => [
        t.from,
        t.to,
        t.classes.map((c) => `${c.dataClass} (${c.mode})`).join(', '),
        basisText(t.basis),
        t.basis?.reference ?? '—',
      ]),
    },
  };
}
