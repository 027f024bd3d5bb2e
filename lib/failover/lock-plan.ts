/**
 * Where a cell's runbook lock lives, so that at most one execution per cell can act under any
 * partition of the cell's regions and any replication lag, and so that no lock lives only in a
 * region of the pair it arbitrates (the writer and the region that takes over from it).
 *
 * A DynamoDB global table in the default mode (multi-Region eventual consistency) evaluates a
 * conditional write against the local replica only ("Conditional writes evaluate the condition
 * expression against the version of the item in the Region", DynamoDB developer guide, How global
 * tables work): under a partition each side can take the lease. So Meridian only ever uses locks
 * that are linearizable for the lock item:
 *
 * - `strong` inside the cell: a global table with multi-Region strong consistency (MRSC), when every
 *   region of the cell lies in one MRSC Region set. A write or strongly consistent read succeeds
 *   only with a majority of the three members (three replicas, or two and a witness), so the side
 *   of a partition without the majority cannot take or renew the lease. With two regions the
 *   witness is a third region of the set: outside the pair. Region sets, per
 *   AWS::DynamoDB::GlobalTable GlobalTableWitness (CloudFormation reference): US = us-east-1,
 *   us-east-2, us-west-2; EU = eu-west-1, eu-west-2, eu-west-3, eu-central-1; AP = ap-northeast-1,
 *   ap-northeast-2, ap-northeast-3.
 * - `single-home` at `failover.lockHome`: a region outside the cell the user chose (validated:
 *   lib/config/rules.ts lockHomeOutsideTheCell). One copy, strongly consistent reads and
 *   conditional writes there; it survives the loss of any region of the cell.
 * - otherwise, for a cell with no MRSC Region set (Mumbai, Hyderabad, UAE, Singapore are in none):
 *   `strong` outside the cell, in the MRSC Region set holding the most of the platform's other
 *   regions — its own table, replicas in those regions (first by priority), a witness in the set.
 *   It survives the loss of any one region of the cell and of any one of its own members. The
 *   lock holds no personal data (execution names, fencing tokens, region states), so it may live
 *   outside the jurisdiction: only those cross.
 * - with no MRSC set reachable through the platform's regions: `single-home` in the first other
 *   region of the platform.
 * - a platform of one cell outside every MRSC set has nowhere outside: the lock stays in the cell
 *   (the takeover region) and lockOutsideTheCell refuses such a config when the cell has two or
 *   more regions; a one-region cell has no pair to split.
 */

import type { LockTopology } from '../../lambda/shared/failover/config';

/** MRSC Region sets (CloudFormation reference, AWS::DynamoDB::GlobalTable GlobalTableWitness). */
export const MRSC_REGION_SETS: Readonly<Record<string, readonly string[]>> = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
};

/** An MRSC global table has exactly three members: three replicas, or two and a witness. */
const MRSC_MEMBERS = 3;

/** Where a cell's lock lives: the runbook configuration carries it (MERIDIAN_RUNBOOK). */
export type LockPlan = LockTopology;

/** A cell's lock table, created by the stack of the lock's home region. */
export interface HostedLock {
  /** The cell (jurisdiction) the lock arbitrates. */
  readonly cell: string;
  readonly tableName: string;
  readonly plan: LockPlan;
}

export interface LockCellRegion {
  readonly id: string;
  readonly failoverPriority: number;
  readonly capacity: number;
}

const byPriority = (a: LockCellRegion, b: LockCellRegion) =>
  a.failoverPriority - b.failoverPriority || b.capacity - a.capacity || a.id.localeCompare(b.id);

/** The MRSC Region set holding every one of `regions`, if any. */
export function mrscSetOf(regions: readonly string[]): readonly string[] | undefined {
  return Object.values(MRSC_REGION_SETS).find((set) => regions.every((r) => set.includes(r)));
}

/** Where the cell's lock may go besides its own regions. */
export interface LockPlanOptions {
  /** The platform's regions of other cells: where a lock outside the cell may live. */
  readonly outside?: readonly LockCellRegion[];
  /** The jurisdiction's `failover.lockHome`: a single home outside the cell. */
  readonly lockHome?: string;
}

/** A strong (MRSC) plan over `replicas` of `set`; every region in `callers` calls `replicas`. */
function strong(
  set: readonly string[],
  replicas: readonly string[],
  callers: readonly string[],
): LockPlan {
  const witness =
    replicas.length < MRSC_MEMBERS ? set.find((r) => !replicas.includes(r)) : undefined;
  return {
    consistency: 'strong',
    home: replicas[0] as string,
    replicas,
    ...(witness ? { witness } : {}),
    endpoints: Object.fromEntries(
      callers.map((r) => [
        r,
        replicas.includes(r) ? [r, ...replicas.filter((x) => x !== r)] : replicas,
      ]),
    ),
  };
}

const singleHome = (home: string, callers: readonly string[]): LockPlan => ({
  consistency: 'single-home',
  home,
  replicas: [home],
  endpoints: Object.fromEntries(callers.map((r) => [r, [home]])),
});

/**
 * The MRSC Region set holding the most of `regions` (ranked), with those regions in rank order;
 * ties go to the set listed first. Undefined when no set holds any.
 */
function busiestSet(
  regions: readonly string[],
): { readonly set: readonly string[]; readonly members: readonly string[] } | undefined {
  let best: { set: readonly string[]; members: readonly string[] } | undefined;
  for (const set of Object.values(MRSC_REGION_SETS)) {
    const members = regions.filter((r) => set.includes(r));
    if (members.length > (best?.members.length ?? 0)) best = { set, members };
  }
  return best;
}

/** The lock plan of a cell (see the top of this file for the order of the choices). */
export function lockPlan(
  cellRegions: readonly LockCellRegion[],
  options: LockPlanOptions = {},
): LockPlan {
  const ranked = [...cellRegions].sort(byPriority).map((r) => r.id);
  const inside = ranked.length >= 2 ? mrscSetOf(ranked) : undefined;
  if (inside) return strong(inside, ranked.slice(0, MRSC_MEMBERS), ranked);
  if (options.lockHome) return singleHome(options.lockHome, ranked);
  const outside = [...(options.outside ?? [])]
    .sort(byPriority)
    .map((r) => r.id)
    .filter((r) => !ranked.includes(r));
  const busiest = busiestSet(outside);
  if (busiest) {
    const replicas = busiest.members.slice(0, MRSC_MEMBERS);
    // MRSC needs two replicas besides a witness: a region of the set without a Meridian stack
    // holds the second (DynamoDB creates it from the home's template).
    const padded =
      replicas.length >= 2
        ? replicas
        : [...replicas, busiest.set.find((r) => !replicas.includes(r)) as string];
    return strong(busiest.set, padded, ranked);
  }
  const elsewhere = outside[0];
  if (elsewhere) return singleHome(elsewhere, ranked);
  return singleHome(ranked[1] ?? (ranked[0] as string), ranked);
}

/**
 * Whether the lock is one copy in a region of the cell: lost with that region, and taken by its
 * side of a partition (lockOutsideTheCell). An MRSC lock always has three members, so a majority
 * decides even when all three lie in a cell of three or more.
 */
export const lockInsideCell = (plan: LockPlan, cell: readonly string[]): boolean =>
  plan.consistency === 'single-home' && cell.includes(plan.home);

/**
 * The lock endpoints `region` calls, in order: its own list when it is a region of the cell; else
 * (a watcher of another cell casting its vote) the members, its own replica first when it has one.
 */
export const lockEndpointsFor = (plan: LockPlan, region: string): readonly string[] =>
  plan.endpoints[region] ??
  (plan.replicas.includes(region)
    ? [region, ...plan.replicas.filter((r) => r !== region)]
    : plan.replicas);
