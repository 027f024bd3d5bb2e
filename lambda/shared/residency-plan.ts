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

/** What the plan needs to know; the validated config satisfies it structurally. */
export interface ResidencyInput {
  readonly dataClasses: Readonly<
    Record<
      string,
      {
        readonly scope: 'global' | 'jurisdiction';
        readonly maskedProjection: boolean;
        readonly requiresEncryption: boolean;
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
  | { readonly allowed: true; readonly mode: ReplicationMode; readonly encrypted: boolean }
  | { readonly allowed: false; readonly reason: string };

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

/** The rules themselves: may `dataClass`, homed in `from`, be replicated to `to`? */
function decideEdge(
  input: ResidencyInput,
  dataClass: string,
  from: ResidencyInput['regions'][number],
  to: ResidencyInput['regions'][number],
): Decision {
  const cls = input.dataClasses[dataClass];
  const home = input.jurisdictions[from.jurisdiction];
  if (!cls || !home) return { allowed: false, reason: `unknown data class ${dataClass}` };
  const encrypted = cls.requiresEncryption;
  if (from.jurisdiction === to.jurisdiction) return { allowed: true, mode: 'full', encrypted };
  if (cls.scope === 'global' && !home.localisedClasses.includes(dataClass)) {
    return { allowed: true, mode: 'full', encrypted };
  }
  if (cls.maskedProjection && home.maskedExportTo.includes(to.jurisdiction)) {
    return { allowed: true, mode: 'masked', encrypted };
  }
  const why =
    cls.scope === 'global'
      ? `${home.name} localises ${dataClass} data (localisedClasses)`
      : cls.maskedProjection
        ? `${dataClass} is jurisdiction-bound and ${home.name} allows no masked export to ${to.jurisdiction} (maskedExportTo)`
        : `${dataClass} is jurisdiction-bound`;
  return {
    allowed: false,
    reason: `${why}: ${from.id} (${from.jurisdiction}) → ${to.id} (${to.jurisdiction}) leaves the jurisdiction`,
  };
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

  /** Fails closed: unknown classes and regions are denied. */
  decide(dataClass: string, from: string, to: string): Decision {
    const cls = this.classes.get(dataClass);
    if (!cls) return { allowed: false, reason: `unknown data class ${JSON.stringify(dataClass)}` };
    for (const r of [from, to]) {
      if (!this.regionIds.has(r))
        return { allowed: false, reason: `unknown region ${JSON.stringify(r)}` };
    }
    if (from === to) return { allowed: true, mode: 'full', encrypted: cls.requiresEncryption };
    const edge = this.allowed.get(edgeKey(dataClass, from, to));
    if (edge) return { allowed: true, mode: edge.mode, encrypted: edge.encrypted };
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
