/**
 * The residency plan: the single place that decides where each class of data may be replicated.
 *
 * It is computed once at synth from the validated `regions/` config (`computeResidencyPlan`),
 * consumed by every construct that creates a replication edge, serialised into the Lambda layer
 * that the sync functions read at run time, and queried there with the same `decide` function.
 * Pure: no I/O, no AWS, deterministic output for a given input.
 */

import {
  type ConflictStrategy,
  DEFAULT_SYNC_RULES,
  type MaskingRules,
  type SyncPriority,
  type SyncRules,
} from './sync/rules';

export type ReplicationMode = 'full' | 'masked';

/**
 * The legal mechanism a jurisdiction's personal data leaves it on, toward one other jurisdiction
 * (`jurisdictions.<home>.transfers.<target>` in regions/global.yaml): an adequacy decision,
 * contractual clauses (SCCs and their equivalents), binding corporate rules, the data subject's
 * consent (per record: sync sends only records that carry it, and no store replicates the class
 * across), or a home law that does not restrict the transfer.
 */
export const TRANSFER_BASES = [
  'adequacy',
  'contractual-clauses',
  'binding-corporate-rules',
  'consent',
  'not-restricted',
] as const;
export type TransferBasisKind = (typeof TRANSFER_BASES)[number];

export interface TransferBasis {
  readonly basis: TransferBasisKind;
  /** The instrument: the decision, the clauses, the article. */
  readonly reference: string;
}

/**
 * Why an edge may cross a border: a transfer basis, or `not-personal-data` for a class that
 * declares `personalData: false` (transfer rules apply to personal data only).
 */
export interface EdgeBasis {
  readonly basis: TransferBasisKind | 'not-personal-data';
  readonly reference: string;
}

/** What the plan needs to know; the validated config satisfies it structurally. */
export interface ResidencyInput {
  readonly dataClasses: Readonly<
    Record<
      string,
      {
        readonly scope: 'global' | 'jurisdiction';
        readonly maskedProjection: boolean;
        readonly requiresEncryption: boolean;
        /** Whether a record can identify a person. @default true */
        readonly personalData?: boolean;
        readonly conflict?: ConflictStrategy;
        readonly syncPriority?: SyncPriority;
        readonly masking?: MaskingRules;
      }
    >
  >;
  readonly jurisdictions: Readonly<
    Record<
      string,
      {
        readonly name: string;
        readonly residencyBound: boolean;
        readonly countries: readonly string[];
        readonly localisedClasses: readonly string[];
        readonly maskedExportTo: readonly string[];
        /** The basis of each transfer of its personal data, by target jurisdiction. @default {} */
        readonly transfers?: Readonly<Record<string, TransferBasis>>;
      }
    >
  >;
  readonly regions: readonly {
    readonly id: string;
    readonly jurisdiction: string;
    readonly tier: 'primary' | 'secondary' | 'tertiary';
    readonly failoverPriority: number;
    readonly capacity: number;
    readonly countries: readonly string[];
  }[];
}

/** An allowed replication of one data class from one region to another. */
export interface ReplicationEdge {
  readonly dataClass: string;
  readonly from: string;
  readonly to: string;
  /** `full`: the record as written; `masked`: only the masked projection for the target. */
  readonly mode: ReplicationMode;
  /** The replica must be encrypted with the target region's customer key. */
  readonly encrypted: boolean;
  readonly crossJurisdiction: boolean;
  /** Why the edge may cross a border; only on cross-jurisdiction edges. */
  readonly basis?: EdgeBasis;
}

/** A replication the plan forbids, with the reason (shown in errors and the compliance report). */
export interface DeniedEdge {
  readonly dataClass: string;
  readonly from: string;
  readonly to: string;
  readonly reason: string;
}

export interface PlanRegion {
  readonly id: string;
  readonly jurisdiction: string;
  readonly tier: 'primary' | 'secondary' | 'tertiary';
  readonly failoverPriority: number;
  readonly capacity: number;
}

/** A jurisdiction cell: its regions, the primary first, then by failover priority. */
export interface Cell {
  readonly jurisdiction: string;
  readonly name: string;
  readonly residencyBound: boolean;
  readonly primary: string;
  readonly regions: readonly string[];
  /** Countries whose residents' data this cell holds. */
  readonly countries: readonly string[];
  /** True when the cell has a second region to fail over to. */
  readonly hasCrossRegionDr: boolean;
}

export interface PlanDataClass extends SyncRules {
  readonly id: string;
  readonly scope: 'global' | 'jurisdiction';
  readonly personalData: boolean;
  readonly maskedProjection: boolean;
  readonly requiresEncryption: boolean;
}

export interface ResidencyPlan {
  readonly version: 1;
  readonly dataClasses: readonly PlanDataClass[];
  readonly regions: readonly PlanRegion[];
  readonly cells: readonly Cell[];
  readonly edges: readonly ReplicationEdge[];
  readonly denied: readonly DeniedEdge[];
}

export type Decision =
  | {
      readonly allowed: true;
      readonly mode: ReplicationMode;
      readonly encrypted: boolean;
      /** Why it may cross a border, when it does. */
      readonly basis?: EdgeBasis;
    }
  | { readonly allowed: false; readonly reason: string };

/** What a run-time decision knows of one record. */
export interface RecordFacts {
  /** The data subject consented to transfers that rest on consent. */
  readonly consent: boolean;
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);

export function computeResidencyPlan(input: ResidencyInput): ResidencyPlan {
  const regions = [...input.regions].sort(byId);
  const classes = Object.keys(input.dataClasses).sort();
  const edges: ReplicationEdge[] = [];
  const denied: DeniedEdge[] = [];

  for (const dataClass of classes) {
    for (const from of regions) {
      for (const to of regions) {
        if (from.id === to.id) continue;
        const d = decideEdge(input, dataClass, from, to);
        if (d.allowed) {
          edges.push({
            dataClass,
            from: from.id,
            to: to.id,
            mode: d.mode,
            encrypted: d.encrypted,
            crossJurisdiction: from.jurisdiction !== to.jurisdiction,
            ...(d.basis ? { basis: d.basis } : {}),
          });
        } else {
          denied.push({ dataClass, from: from.id, to: to.id, reason: d.reason });
        }
      }
    }
  }

  const cells = Object.keys(input.jurisdictions)
    .sort()
    .flatMap((j): Cell[] => {
      const members = regions
        .filter((r) => r.jurisdiction === j)
        .sort(
          (a, b) =>
            tierRank(a.tier) - tierRank(b.tier) ||
            a.failoverPriority - b.failoverPriority ||
            a.id.localeCompare(b.id),
        );
      const first = members[0];
      const rules = input.jurisdictions[j];
      if (!first || !rules) return [];
      return [
        {
          jurisdiction: j,
          name: rules.name,
          residencyBound: rules.residencyBound,
          primary: first.id,
          regions: members.map((r) => r.id),
          countries: [...rules.countries].sort(),
          hasCrossRegionDr: members.length > 1,
        },
      ];
    });

  return {
    version: 1,
    dataClasses: classes.map((id) => {
      const c = input.dataClasses[id] ?? {
        scope: 'jurisdiction',
        maskedProjection: false,
        requiresEncryption: true,
      };
      return {
        id,
        scope: c.scope,
        personalData: c.personalData ?? true,
        maskedProjection: c.maskedProjection,
        requiresEncryption: c.requiresEncryption,
        conflict: c.conflict ?? DEFAULT_SYNC_RULES.conflict,
        priority: c.syncPriority ?? DEFAULT_SYNC_RULES.priority,
        masking: c.masking ?? DEFAULT_SYNC_RULES.masking,
      };
    }),
    regions: regions.map(({ id, jurisdiction, tier, failoverPriority, capacity }) => ({
      id,
      jurisdiction,
      tier,
      failoverPriority,
      capacity,
    })),
    cells,
    edges,
    denied,
  };
}

function tierRank(tier: PlanRegion['tier']): number {
  return tier === 'primary' ? 0 : tier === 'secondary' ? 1 : 2;
}

/**
 * How a class homed in `home` may reach `to` by its scope and the home's export rules alone,
 * before any transfer basis: `full`, `masked`, or the rule that keeps it home.
 */
export function crossingMode(
  input: ResidencyInput,
  dataClass: string,
  home: string,
  to: string,
): ReplicationMode | { readonly rule: string } {
  const cls = input.dataClasses[dataClass];
  const rules = input.jurisdictions[home];
  if (!cls || !rules) return { rule: `unknown data class ${dataClass}` };
  if (cls.scope === 'global' && !rules.localisedClasses.includes(dataClass)) return 'full';
  if (cls.maskedProjection && rules.maskedExportTo.includes(to)) return 'masked';
  return {
    rule:
      cls.scope === 'global'
        ? `${rules.name} localises ${dataClass} data (localisedClasses)`
        : cls.maskedProjection
          ? `${dataClass} is jurisdiction-bound and ${rules.name} allows no masked export to ${to} (maskedExportTo)`
          : `${dataClass} is jurisdiction-bound`,
  };
}

/** The basis a crossing of `dataClass` from `home` to `to` rests on; undefined when none. */
export function basisOf(
  input: ResidencyInput,
  dataClass: string,
  home: string,
  to: string,
): EdgeBasis | undefined {
  if (input.dataClasses[dataClass]?.personalData === false)
    return {
      basis: 'not-personal-data',
      reference: `dataClasses.${dataClass}.personalData: false`,
    };
  const t = input.jurisdictions[home]?.transfers?.[to];
  return t ? { basis: t.basis, reference: t.reference } : undefined;
}

/**
 * The rules themselves: may `dataClass`, homed in `from`, be replicated to `to`? Across a border
 * it needs a mode (scope, maskedExportTo) and a basis; without a basis it stays home.
 */
function decideEdge(
  input: ResidencyInput,
  dataClass: string,
  from: ResidencyInput['regions'][number],
  to: ResidencyInput['regions'][number],
): Decision {
  const cls = input.dataClasses[dataClass];
  if (!cls || !input.jurisdictions[from.jurisdiction])
    return { allowed: false, reason: `unknown data class ${dataClass}` };
  const encrypted = cls.requiresEncryption;
  if (from.jurisdiction === to.jurisdiction) return { allowed: true, mode: 'full', encrypted };
  const leaves = `${from.id} (${from.jurisdiction}) → ${to.id} (${to.jurisdiction}) leaves the jurisdiction`;
  const mode = crossingMode(input, dataClass, from.jurisdiction, to.jurisdiction);
  if (typeof mode !== 'string') return { allowed: false, reason: `${mode.rule}: ${leaves}` };
  const basis = basisOf(input, dataClass, from.jurisdiction, to.jurisdiction);
  if (!basis)
    return {
      allowed: false,
      reason: `${dataClass} is personal data and ${from.jurisdiction} records no transfer basis for ${to.jurisdiction} (jurisdictions.${from.jurisdiction}.transfers.${to.jurisdiction}): ${leaves}`,
    };
  return { allowed: true, mode, encrypted, basis };
}

/** Index for fast run-time decisions; build once per plan. */
export class ResidencyIndex {
  private readonly allowed = new Map<string, ReplicationEdge>();
  private readonly deniedReasons = new Map<string, string>();
  private readonly regionIds: Set<string>;
  private readonly classes: Map<string, PlanDataClass>;

  constructor(readonly plan: ResidencyPlan) {
    for (const e of plan.edges) this.allowed.set(edgeKey(e.dataClass, e.from, e.to), e);
    for (const d of plan.denied)
      this.deniedReasons.set(edgeKey(d.dataClass, d.from, d.to), d.reason);
    this.regionIds = new Set(plan.regions.map((r) => r.id));
    this.classes = new Map(plan.dataClasses.map((c) => [c.id, c]));
  }

  /**
   * Fails closed: unknown classes and regions are denied. An edge that rests on consent carries
   * only a record whose subject consented: without `record` (a store replicating a whole class)
   * it is denied, so consent-based transfers happen record by record, through sync only.
   */
  decide(dataClass: string, from: string, to: string, record?: RecordFacts): Decision {
    const cls = this.classes.get(dataClass);
    if (!cls) return { allowed: false, reason: `unknown data class ${JSON.stringify(dataClass)}` };
    for (const r of [from, to]) {
      if (!this.regionIds.has(r))
        return { allowed: false, reason: `unknown region ${JSON.stringify(r)}` };
    }
    if (from === to) return { allowed: true, mode: 'full', encrypted: cls.requiresEncryption };
    const edge = this.allowed.get(edgeKey(dataClass, from, to));
    if (edge?.basis?.basis === 'consent' && record?.consent !== true) {
      const [home, target] = [this.jurisdictionOf(from), this.jurisdictionOf(to)];
      return {
        allowed: false,
        reason: `${dataClass} leaves ${home} for ${target} only with the subject's consent (jurisdictions.${home}.transfers.${target}.basis: consent) and ${record ? 'the record carries none' : 'a store replicating the whole class cannot ask'}`,
      };
    }
    if (edge)
      return {
        allowed: true,
        mode: edge.mode,
        encrypted: edge.encrypted,
        ...(edge.basis ? { basis: edge.basis } : {}),
      };
    return {
      allowed: false,
      reason: this.deniedReasons.get(edgeKey(dataClass, from, to)) ?? 'not in the residency plan',
    };
  }

  /**
   * Regions a store holding every class in `classes` may replicate to in full from `from`
   * (e.g. an Aurora cluster with pii tables can only have secondaries inside its jurisdiction).
   */
  fullReplicaTargets(from: string, classes: readonly string[]): string[] {
    return this.plan.regions
      .map((r) => r.id)
      .filter(
        (to) =>
          to !== from &&
          classes.every((c) => {
            const d = this.decide(c, from, to);
            return d.allowed && d.mode === 'full';
          }),
      );
  }

  /** Sync rules of a class; undefined for an unknown class (callers fail closed). */
  rulesOf(dataClass: string): PlanDataClass | undefined {
    return this.classes.get(dataClass);
  }

  /** The classes the relay sends as they commit (the others wait for the scheduled run). */
  realtimeClasses(): string[] {
    return this.plan.dataClasses.filter((c) => c.priority === 'realtime').map((c) => c.id);
  }

  /** Jurisdiction of a region; undefined when unknown. */
  jurisdictionOf(region: string): string | undefined {
    return this.plan.regions.find((r) => r.id === region)?.jurisdiction;
  }

  cellOf(region: string): Cell | undefined {
    const j = this.plan.regions.find((r) => r.id === region)?.jurisdiction;
    return this.plan.cells.find((c) => c.jurisdiction === j);
  }
}

const edgeKey = (c: string, f: string, t: string) => `${c}\u0000${f}\u0000${t}`;
