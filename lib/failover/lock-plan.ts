/**
 * Where a cell's runbook lock lives, so that at most one execution per cell can act under any
 * partition of the cell's regions and any replication lag.
 *
 * A DynamoDB global table in the default mode (multi-Region eventual consistency) evaluates a
 * conditional write against the local replica only ("Conditional writes evaluate the condition
 * expression against the version of the item in the Region", DynamoDB developer guide, How global
 * tables work): under a partition each side can take the lease. So Meridian uses one of two
 * designs, both linearizable for the lock item:
 *
 * - `strong`: a global table with multi-Region strong consistency (MRSC), when every region of the
 *   cell lies in one MRSC Region set. A write or strongly consistent read succeeds only with a
 *   majority of the three members (three replicas, or two and a witness), so the side of a
 *   partition without the majority cannot take or renew the lease. Region sets, per
 *   AWS::DynamoDB::GlobalTable GlobalTableWitness (CloudFormation reference): US = us-east-1,
 *   us-east-2, us-west-2; EU = eu-west-1, eu-west-2, eu-west-3, eu-central-1; AP = ap-northeast-1,
 *   ap-northeast-2, ap-northeast-3.
 * - `single-home`: otherwise, one table in one region (the lock home): strongly consistent reads
 *   and conditional writes there. Runbooks in other regions call that region's endpoint; a side
 *   that cannot reach it cannot act. The lock holds no personal data (execution names, tokens,
 *   region states), so the home may be a region outside the jurisdiction; by default it is the
 *   region that takes over from the cell's writer, which keeps the first failover possible.
 *
 * A cell of one region has a single-home lock in that region (there is nothing to fail over to).
 * `lockPlan` takes a lock home; regions/ does not expose one yet, so the default applies.
 */

/** MRSC Region sets (CloudFormation reference, AWS::DynamoDB::GlobalTable GlobalTableWitness). */
export const MRSC_REGION_SETS: Readonly<Record<string, readonly string[]>> = {
  US: ['us-east-1', 'us-east-2', 'us-west-2'],
  EU: ['eu-west-1', 'eu-west-2', 'eu-west-3', 'eu-central-1'],
  AP: ['ap-northeast-1', 'ap-northeast-2', 'ap-northeast-3'],
};

/** An MRSC global table has exactly three members: three replicas, or two and a witness. */
const MRSC_MEMBERS = 3;

export interface LockPlan {
  readonly consistency: 'strong' | 'single-home';
  /** The region whose stack creates the table (its first replica). */
  readonly home: string;
  /** Regions holding a replica, home first. */
  readonly replicas: readonly string[];
  /** The MRSC witness region, when the cell has two replicas. */
  readonly witness?: string;
  /**
   * Per region of the cell: the lock endpoints its runbook and functions call, in order (its own
   * replica first when it has one). Every lock operation is idempotent for its caller, so a call
   * that fails at one endpoint may be repeated at the next.
   */
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
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

/**
 * The lock plan of a cell. `lockHome` (from the jurisdiction's `failover.lockHome`) names the home
 * of a single-home lock; it is ignored where the cell can use MRSC.
 */
export function lockPlan(cellRegions: readonly LockCellRegion[], lockHome?: string): LockPlan {
  const ranked = [...cellRegions].sort(byPriority).map((r) => r.id);
  const set = ranked.length >= 2 ? mrscSetOf(ranked) : undefined;
  if (set) {
    const replicas = ranked.slice(0, MRSC_MEMBERS);
    const witness =
      replicas.length < MRSC_MEMBERS ? set.find((r) => !replicas.includes(r)) : undefined;
    return {
      consistency: 'strong',
      home: replicas[0] as string,
      replicas,
      ...(witness ? { witness } : {}),
      endpoints: Object.fromEntries(
        ranked.map((r) => [
          r,
          replicas.includes(r) ? [r, ...replicas.filter((x) => x !== r)] : replicas,
        ]),
      ),
    };
  }
  const home = lockHome ?? ranked[1] ?? (ranked[0] as string);
  return {
    consistency: 'single-home',
    home,
    replicas: [home],
    endpoints: Object.fromEntries(ranked.map((r) => [r, [home]])),
  };
}
