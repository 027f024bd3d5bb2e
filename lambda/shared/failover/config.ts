/**
 * The runbook's configuration: one JSON document (MERIDIAN_RUNBOOK) written at synth from
 * regions/, read and checked once at cold start by every step function.
 */
export interface CellRegion {
  readonly id: string;
  readonly jurisdiction: string;
  readonly failoverPriority: number;
  readonly capacity: number;
  readonly failoverTo?: readonly string[];
}

/** Where the cell's runbook lock lives (lib/failover/lock-plan.ts). */
export interface LockTopology {
  readonly consistency: 'strong' | 'single-home';
  /** The region whose stack creates the table (its first replica). */
  readonly home: string;
  /** Regions holding a replica, home first. */
  readonly replicas: readonly string[];
  /** The MRSC witness region, when the lock has two replicas. */
  readonly witness?: string;
  /**
   * Per region of the cell: the lock endpoints its runbook and functions call, in order (its own
   * replica first when it has one). Every lock operation is idempotent for its caller, so a call
   * that fails at one endpoint may be repeated at the next.
   */
  readonly endpoints: Readonly<Record<string, readonly string[]>>;
}

/** The names a cell region's resources have (lib/naming.ts), which the steps look up, never build. */
export interface RegionNames {
  /** The region's Aurora cluster identifier (its member of the cell's global cluster). */
  readonly cluster: string;
  /** The region's Cloudflare load-balancer pool. */
  readonly pool: string;
  /** Every critical alarm about the region starts with it, in whichever region it lives. */
  readonly criticalAlarmPrefix: string;
}

export interface RunbookConfig {
  /** Region this copy of the runbook runs in. */
  readonly region: string;
  readonly account: string;
  /** `<platform>-<env>`. */
  readonly prefix: string;
  readonly zoneName: string;
  readonly hostedZoneId: string;
  readonly healthPath: string;
  readonly apiName: string;
  readonly ttlSeconds: number;
  readonly lockTable: string;
  /**
   * Regions whose lock-table endpoint this runbook calls, in order (lib/failover/lock-plan.ts):
   * the cell's MRSC replicas (own first) or its single lock home.
   */
  readonly lockRegions: readonly string[];
  /** The cell's whole lock: members and every cell region's endpoints (the drill models it). */
  readonly lock: LockTopology;
  readonly auditBucket: string;
  readonly quorum: number;
  /**
   * Per cell region, the regions whose stacks define critical alarms about it (the region
   * watching it; itself for its replication-lag alarm): where Verify reads them.
   */
  readonly criticalAlarmHosts: Readonly<Record<string, readonly string[]>>;
  /** Per cell region, the names of its resources the steps act on. */
  readonly names: Readonly<Record<string, RegionNames>>;
  readonly leaseSeconds: number;
  /**
   * Per cell region, the regions watching it (lib/failover/watchers.ts): Verify counts their
   * votes, kept in this cell's lock table (lambda/shared/failover/votes.ts).
   * @default - no watchers: the failure is judged on the other signals alone
   */
  readonly watchers?: Readonly<Record<string, readonly string[]>>;
  readonly maxSwitchoverLagSeconds: number;
  readonly cloudflare: { readonly accountId: string; readonly tokenSecretArn: string };
  /**
   * The cell's search domains by region, and this region's search admin role (the domain's
   * master user, which the search step assumes to stop replication).
   * @default - no search domains in the cell
   */
  readonly search?: {
    readonly domains: Readonly<Record<string, string>>;
    /**
     * The search step's function in each cell region (Naming.searchStep): a failback invokes the
     * original region's to act on its domain from inside its VPC.
     * @default - none: the failback reports the original region's search actions as manual
     */
    readonly steps?: Readonly<Record<string, string>>;
    readonly adminRoleArn: string;
  };
  readonly cell: {
    readonly jurisdiction: string;
    /** Aurora global cluster of the cell. */
    readonly globalCluster: string;
    /** Global Datastore id and member replication groups by region, where the cell has one. */
    readonly datastore?: {
      readonly id: string;
      readonly members: Readonly<Record<string, string>>;
    };
    readonly regions: readonly CellRegion[];
  };
}

export class RunbookConfigError extends Error {
  override readonly name = 'RunbookConfigError';
}

export function readRunbookConfig(
  env: Readonly<Record<string, string | undefined>>,
): RunbookConfig {
  const raw = env.MERIDIAN_RUNBOOK;
  let c: RunbookConfig;
  try {
    c = JSON.parse(raw ?? '') as RunbookConfig;
  } catch {
    throw new RunbookConfigError(
      `MERIDIAN_RUNBOOK: got ${raw === undefined ? 'nothing' : 'text that is not JSON'}; expected the runbook configuration synth writes`,
    );
  }
  const missing = (
    [
      'region',
      'account',
      'prefix',
      'zoneName',
      'hostedZoneId',
      'lockTable',
      'auditBucket',
      'cell',
      'cloudflare',
      'names',
    ] as const
  ).filter((k) => !c?.[k]);
  const lists = (['cell.regions', 'lockRegions'] as const).filter((k) => {
    const v = k === 'lockRegions' ? c?.lockRegions : c?.cell?.regions;
    return !Array.isArray(v) || v.length === 0;
  });
  if (missing.length > 0 || lists.length > 0)
    throw new RunbookConfigError(`MERIDIAN_RUNBOOK: missing ${[...missing, ...lists].join(', ')}`);
  return c;
}

/** `https://<region>.<zone><healthPath>`: the regional name every region serves. */
export const healthUrl = (c: RunbookConfig, region: string) =>
  `https://${region}.${c.zoneName}${c.healthPath}`;
export const regionalName = (c: RunbookConfig, region: string) => `${region}.${c.zoneName}`;

/** The names of a cell region's resources; a region the configuration does not name is an error. */
export function namesOf(c: RunbookConfig, region: string): RegionNames {
  const n = c.names[region];
  if (!n)
    throw new RunbookConfigError(
      `MERIDIAN_RUNBOOK: names.${region} missing (a region of another cell, or an old configuration)`,
    );
  return n;
}
