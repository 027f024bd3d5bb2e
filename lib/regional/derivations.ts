/**
 * What a region's stack derives from regions/ before it builds anything: memberships, names,
 * targets, the runbook's configuration, the health function's environment, the global dashboard's
 * regions. Plain data in, plain data out, so each is tested without synthesizing a stack.
 */
import type { RunbookConfig } from '../../lambda/shared/failover/config';
import type { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { syncTargets } from '../../lambda/shared/sync/routes';
import type { LeaseLocation } from '../../lambda/shared/sync/writers';
import { type CacheMembership, cacheMembership } from '../cache/global-datastore-membership';
import type { MeridianConfig } from '../config/load';
import type { RegionConfig, Settings } from '../config/schema';
import { type AuroraRole, auroraMembership } from '../data/aurora-global';
import { dsrCells } from '../dsr/plan';
import type { SubjectRequestCell } from '../dsr/subject-request-machine';
import { stateMachineArn } from '../failover/failover-runbook';
import { type HostedLock, type LockPlan, lockEndpointsFor, lockPlan } from '../failover/lock-plan';
import { runnerRegion } from '../failover/runner';
import { watchersOf } from '../failover/watchers';
import type { Naming } from '../naming';
import type { GlobalDashboardRegion } from '../observability/global-dashboard';
import type { DeploymentSlot } from '../routing/regional-routing';
import { type FollowRoute, followersOf, followRoutes } from '../search/search-routes';
import { auditRoutes, type ObjectRoute, objectRoutes } from '../storage/replication-routes';

/** A region's place in its cell and in the residency plan. */
export interface Placement {
  readonly region: string;
  readonly jurisdiction: string;
  readonly account: string;
  /** Every data class of the plan: the database and the cache hold them all. */
  readonly classes: readonly string[];
  /** Its member of the cell's Aurora global database, if the plan lets it hold every class. */
  readonly aurora?: { readonly role: AuroraRole; readonly jurisdiction: string };
  readonly cache: CacheMembership;
  /** The Aurora cluster id when the region is a global secondary (checked by lag, not writer). */
  readonly replicaCluster?: string;
  /** The region creates its cell's shared resources (global cluster, lock table). */
  readonly cellPrimary: boolean;
  /** The other regions of its cell (the pseudonymisation key is replicated to them only). */
  readonly jurisdictionPeers: readonly string[];
  /** Writers of other cells its sync sends to (their plan primaries: the targets' keys). */
  readonly syncTargets: readonly string[];
  /** Regions whose domains follow this region's search domain. */
  readonly searchFollowers: readonly string[];
  /** What this region's search domain follows, per leader region. */
  readonly searchLeaders: readonly FollowRoute[];
  /** S3 replication rules of the data bucket, and the regions the audit bucket replicates to. */
  readonly objectRoutes: readonly ObjectRoute[];
  readonly auditTargets: readonly string[];
}

/**
 * A cell as sync meets it: its key (the plan primary, what outbox rows and metrics name), every
 * region that may be its writer, and where its writer lease is read from this region.
 */
export interface SyncCell {
  readonly key: string;
  readonly cell: string;
  readonly regions: readonly string[];
  readonly lease: LeaseLocation;
}

/** The cells `region`'s sync talks to: the targets of its outbox, and its own cell (forwarding). */
export function syncCellsOf(
  config: MeridianConfig,
  index: ResidencyIndex,
  naming: Naming,
  region: string,
): { readonly targets: readonly SyncCell[]; readonly own?: SyncCell } {
  const cellOf = (key: string): SyncCell | undefined => {
    const c = index.cellOf(key);
    if (!c) return undefined;
    return {
      key: c.primary,
      cell: c.jurisdiction,
      regions: [...c.regions],
      lease: {
        table: naming.failoverLockTable(c.jurisdiction),
        endpoints: [...lockEndpointsFor(cellLockPlan(config, c.jurisdiction), region)],
      },
    };
  };
  const own = cellOf(region);
  return {
    targets: syncTargets(index, region).flatMap((t) => cellOf(t) ?? []),
    ...(own ? { own } : {}),
  };
}

/** The account a region deploys to: its own, else the global one. */
export const accountOf = (config: MeridianConfig, region: RegionConfig): string =>
  region.account ?? config.global.account;

const classesOf = (config: MeridianConfig) => config.plan.dataClasses.map((c) => c.id);

const cacheOf = (
  index: ResidencyIndex,
  naming: Naming,
  region: string,
  classes: readonly string[],
) => cacheMembership(index, region, classes, (j) => naming.cell(j));

/** The Aurora cluster id of `region` when it is a global secondary, else undefined. */
function replicaClusterOf(
  index: ResidencyIndex,
  naming: Naming,
  region: string,
  classes: readonly string[],
): string | undefined {
  return auroraMembership(index, region, classes)?.role === 'secondary'
    ? naming.region(region)
    : undefined;
}

export function placementOf(
  config: MeridianConfig,
  region: RegionConfig,
  index: ResidencyIndex,
  naming: Naming,
): Placement {
  const classes = classesOf(config);
  const cell = index.cellOf(region.id);
  return {
    region: region.id,
    jurisdiction: region.jurisdiction,
    account: accountOf(config, region),
    classes,
    aurora: auroraMembership(index, region.id, classes),
    cache: cacheOf(index, naming, region.id, classes),
    replicaCluster: replicaClusterOf(index, naming, region.id, classes),
    cellPrimary: cell?.primary === region.id,
    jurisdictionPeers: (cell?.regions ?? []).filter((r) => r !== region.id),
    syncTargets: syncTargets(index, region.id),
    searchFollowers: followersOf(index, region.id),
    searchLeaders: followRoutes(index, region.id),
    objectRoutes: objectRoutes(index, region.id),
    auditTargets: auditRoutes(index, region.id),
  };
}

/** Where the runbook lock of `jurisdiction`'s cell lives (lib/failover/lock-plan.ts). */
export function cellLockPlan(config: MeridianConfig, jurisdiction: string): LockPlan {
  const lockHome = config.global.jurisdictions[jurisdiction]?.failover.lockHome;
  return lockPlan(
    config.regions.filter((r) => r.jurisdiction === jurisdiction),
    {
      outside: config.regions.filter((r) => r.jurisdiction !== jurisdiction),
      ...(lockHome ? { lockHome } : {}),
    },
  );
}

/** The cells whose runbook lock table `region`'s stack creates (it is the lock's home). */
export function hostedLocks(config: MeridianConfig, naming: Naming, region: string): HostedLock[] {
  return Object.keys(config.global.jurisdictions)
    .filter((j) => config.regions.some((r) => r.jurisdiction === j))
    .map((cell) => ({
      cell,
      tableName: naming.failoverLockTable(cell),
      plan: cellLockPlan(config, cell),
    }))
    .filter((l) => l.plan.home === region);
}

/** The cell's runbook configuration, from regions/ (names, never cross-region references). */
export function failoverRunbookConfig(
  config: MeridianConfig,
  region: RegionConfig,
  index: ResidencyIndex,
  naming: Naming,
): RunbookConfig {
  const s = region.settings;
  const { dns, routing } = config.global;
  const account = accountOf(config, region);
  const classes = classesOf(config);
  const cellRegions = config.regions.filter((r) => r.jurisdiction === region.jurisdiction);
  const own = cacheOf(index, naming, region.id, classes);
  const lock = cellLockPlan(config, region.jurisdiction);
  return {
    region: region.id,
    account,
    prefix: naming.keyAlias,
    zoneName: dns.zoneName,
    hostedZoneId: dns.hostedZoneId,
    healthPath: routing.healthPath,
    apiName: routing.apiName,
    ttlSeconds: routing.ttlSeconds,
    lockTable: naming.failoverLockTable(region.jurisdiction),
    lockRegions: lock.endpoints[region.id] ?? [region.id],
    lock,
    auditBucket: naming.bucket(region.id, 'audit', account),
    quorum: s.failover.quorum,
    watchers: Object.fromEntries(cellRegions.map((r) => [r.id, watchersOf(config, r.id)])),
    criticalAlarmHosts: Object.fromEntries(
      cellRegions.map((r) => {
        const watcher = runnerRegion(config, r.id);
        const hosts = [
          ...(watcher !== r.id ? [watcher] : []),
          ...(replicaClusterOf(index, naming, r.id, classes) ? [r.id] : []),
        ];
        return [r.id, hosts];
      }),
    ),
    names: Object.fromEntries(
      cellRegions.map((r) => [
        r.id,
        {
          cluster: naming.region(r.id),
          pool: naming.edgePool(r.id),
          criticalAlarmPrefix: naming.criticalAlarmPrefix(r.id),
        },
      ]),
    ),
    leaseSeconds: s.failover.leaseSeconds,
    maxSwitchoverLagSeconds: s.failover.switchoverLagThresholdSeconds,
    // The runbook construct fills in the ARN of the token secret it creates.
    cloudflare: { accountId: config.global.cloudflare.accountId, tokenSecretArn: '' },
    // Every region has a search domain; the stack fills in this region's admin role ARN.
    search: {
      domains: Object.fromEntries(cellRegions.map((r) => [r.id, naming.searchDomain(r.id)])),
      steps: Object.fromEntries(cellRegions.map((r) => [r.id, naming.searchStep(r.id)])),
      adminRoleArn: '',
    },
    cell: {
      jurisdiction: region.jurisdiction,
      globalCluster: naming.cell(region.jurisdiction),
      ...(own.role !== 'standalone'
        ? {
            datastore: {
              id: own.globalId,
              members: Object.fromEntries(
                cellRegions
                  .filter((r) => cacheOf(index, naming, r.id, classes).role !== 'standalone')
                  .map((r) => [r.id, naming.region(r.id)]),
              ),
            },
          }
        : {}),
      regions: cellRegions.map((r) => ({
        id: r.id,
        jurisdiction: r.jurisdiction,
        failoverPriority: r.failoverPriority,
        capacity: r.capacity,
        ...(r.failoverTo ? { failoverTo: r.failoverTo } : {}),
      })),
    },
  };
}

/**
 * The region whose stack carries the global dashboard: us-east-1 when it is one of ours (Route 53
 * publishes its metrics there), else the first region by id.
 */
export function globalDashboardRegion(config: MeridianConfig): string {
  const ids = config.regions.map((r) => r.id).sort();
  return ids.includes('us-east-1') ? 'us-east-1' : (ids[0] as string);
}

/** Every region as the global dashboard shows it, by name (no cross-region reference). */
export function globalDashboardRegions(
  config: MeridianConfig,
  index: ResidencyIndex,
  naming: Naming,
  partition: string,
): GlobalDashboardRegion[] {
  const classes = classesOf(config);
  return config.regions.map((r) => ({
    region: r.id,
    jurisdiction: r.jurisdiction,
    auroraSecondaryCluster: replicaClusterOf(index, naming, r.id, classes),
    cacheReplicationGroupId: naming.region(r.id),
    syncDeadLetterQueue:
      index.cellOf(r.id)?.primary === r.id ? naming.syncDeadLetterQueue(r.id) : undefined,
    failoverStateMachineArn: stateMachineArn(
      partition,
      r.id,
      accountOf(config, r),
      naming.runbook(r.id),
    ),
  }));
}

/** What the health function checks, as resolved names and endpoints (tokens at synth). */
export interface HealthTargets {
  readonly region: string;
  /** `host:port` of the cache primary. */
  readonly cacheEndpoint: string;
  readonly bucket: string;
  readonly syncQueueUrl: string;
  /**
   * `host:port` of the Aurora endpoints, where the region has a cluster, and the writer keeper's
   * sign (Naming.writerFenceParameter), which the endpoint reads.
   */
  readonly aurora?: {
    readonly writer: string;
    readonly reader: string;
    readonly fenceParameter: string;
  };
  /** The cluster id when it is a global secondary: its writer is not checked, its lag is. */
  readonly replicaCluster?: string;
}

/** The health function's environment (read by `lambda/health/config.ts`). */
export function healthEnvironment(
  health: Settings['health'],
  targets: HealthTargets,
): Record<string, string> {
  const environment: Record<string, string> = {
    MERIDIAN_REGION: targets.region,
    MERIDIAN_HEALTH_TIMEOUT_MS: String(health.timeoutMs),
    MERIDIAN_HEALTH_CACHE_SECONDS: String(health.cacheSeconds),
    MERIDIAN_MAX_REPLICATION_LAG_SECONDS: String(health.maxReplicationLagSeconds),
    MERIDIAN_MAX_QUEUE_DEPTH: String(health.maxQueueDepth),
    MERIDIAN_CACHE_ENDPOINT: targets.cacheEndpoint,
    MERIDIAN_BUCKET: targets.bucket,
    MERIDIAN_SYNC_QUEUE_URL: targets.syncQueueUrl,
  };
  if (targets.aurora) {
    // A secondary has no usable writer until it is promoted: check its readers only.
    if (!targets.replicaCluster) environment.MERIDIAN_AURORA_WRITER = targets.aurora.writer;
    environment.MERIDIAN_AURORA_READER = targets.aurora.reader;
    environment.MERIDIAN_FENCE_PARAMETER = targets.aurora.fenceParameter;
  }
  if (targets.replicaCluster) environment.MERIDIAN_AURORA_CLUSTER = targets.replicaCluster;
  return environment;
}

/** Weighted record slots: each slot's own origin, else the region's ingress. */
export function routingSlots(
  slots: Settings['routing']['slots'],
  ingressTarget: string,
): DeploymentSlot[] {
  return Object.entries(slots).map(([name, slot]) => ({
    name,
    weight: slot.weight,
    target: slot.origin ?? ingressTarget,
  }));
}

/** Availability zones of a region: from its file, or `<region>a..` up to maxAzs. No AWS lookup. */
export function availabilityZonesOf(region: RegionConfig): string[] {
  const { maxAzs } = region.settings.network;
  return (
    region.availabilityZones ?? ['a', 'b', 'c', 'd', 'e', 'f'].map((l) => `${region.id}${l}`)
  ).slice(0, maxAzs);
}

/** Tags every resource of a region carries; values kept within AWS's tag character set. */
export function regionalTags(config: MeridianConfig, region: RegionConfig): Record<string, string> {
  const tagValue = (xs: readonly string[]) => (xs.length ? xs.join(' ') : 'none');
  return {
    ...config.global.tags,
    'meridian:platform': config.global.platform,
    'meridian:env': config.env,
    'meridian:region': region.id,
    'meridian:jurisdiction': region.jurisdiction,
    'meridian:tier': region.tier,
    'meridian:data-residency': tagValue(region.residency.countries),
    'meridian:compliance': tagValue(region.compliance),
  };
}

/**
 * The cells a data-subject request of `jurisdiction` reaches (dsrCells: the plan's reach of its
 * personal classes, home first), each with the regions that run the subject-request function
 * (those with an Aurora cluster of the cell) and its name and account.
 */
export function subjectRequestCells(
  config: MeridianConfig,
  index: ResidencyIndex,
  naming: Naming,
  jurisdiction: string,
): SubjectRequestCell[] {
  const classes = classesOf(config);
  return dsrCells(index, jurisdiction)
    .map((c) => ({
      cell: c.cell,
      // The cell's primary first: an access request asks it first.
      regions: config.regions
        .filter((r) => c.regions.includes(r.id) && auroraMembership(index, r.id, classes))
        .sort((a, b) => Number(b.id === c.primary) - Number(a.id === c.primary))
        .map((r) => ({
          region: r.id,
          functionName: naming.subjectRequestFunction(r.id),
          account: accountOf(config, r),
        })),
    }))
    .filter((c) => c.regions.length > 0);
}
