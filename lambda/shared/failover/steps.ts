/**
 * The failover runbook's steps. Each takes the execution's state (the JSON Step Functions passes
 * along) and returns its own result, which the state machine stores under the step's name. Every
 * step that changes anything first presents the lock's fencing token (`fence`), so an execution
 * that lost its lease is refused before it acts.
 */
import { type CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeGlobalReplicationGroupsCommand,
  type ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { OpenSearchClient } from '@aws-sdk/client-opensearch';
import {
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  type RDSClient,
  SwitchoverGlobalClusterCommand,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { STSClient } from '@aws-sdk/client-sts';
import { HEALTHY_MARKER, parseHealthBody } from '../../health/report';
import { cloudflareApi, tokenFromSecret } from '../cloudflare-api';
import { datePath } from '../date-path';
import { assumedRoleCredentials, signedHttp } from '../signed-http';
import { healthUrl, namesOf, type RunbookConfig, regionalName } from './config';
import {
  type Assessment,
  assess,
  chooseTarget,
  type Mode,
  type Signal,
  type TargetChoice,
  type Verification,
  verify,
} from './decide';
import { atFirstEndpoint } from './endpoints';
import { type Acquired, acquire, FencedError, fence, type Lease, release } from './lock';
import { type RegionState, regionState, setRegionState } from './region-state';
import { checkersOf, healthCheckOf } from './route53-health';
import { domainEndpoint, followLeader, SEARCH_CALL_TIMEOUT_MS, stopFollowing } from './search';
import { readVotes, tally } from './votes';
import { returnWriterLease, takeWriterLease } from './writer-lease';

export interface Clients {
  readonly route53: Route53Client;
  dynamodb(region: string): DynamoDBClient;
  readonly s3: S3Client;
  readonly secrets: SecretsManagerClient;
  rds(region: string): RDSClient;
  elasticache(region: string): ElastiCacheClient;
  cloudwatch(region: string): CloudWatchClient;
  opensearch(region: string): OpenSearchClient;
  lambda(region: string): LambdaClient;
  readonly sts: STSClient;
  readonly fetch: typeof fetch;
  now(): number;
}

export interface RunbookInput {
  readonly cell: string;
  readonly failedRegion: string;
  readonly mode: Mode;
  readonly reason?: string;
  /** When the failure was first detected (epoch ms); @default - the verification time */
  readonly detectedAt?: number;
}

export interface Snapshot {
  readonly records: readonly ResourceRecordSet[];
  /**
   * Route 53's control plane (in us-east-1) did not answer: the records could not be read, so the
   * runbook does not change them; their health checks (Route 53's data plane, which does not
   * depend on us-east-1) already stop answering with the failed region.
   */
  readonly route53Unavailable?: string;
  /** The failed region's state before this execution fenced it: rollback restores exactly it. */
  readonly previousState?: RegionState;
  readonly pool?: { readonly id: string; readonly enabled: boolean };
}

export interface RunbookState {
  readonly input: RunbookInput;
  readonly execution: string;
  readonly startedAt?: number;
  readonly verification?: Verification;
  readonly assessment?: Assessment;
  readonly lock?: Acquired;
  readonly target?: TargetChoice & { readonly lagSeconds?: number };
  readonly fenced?: { readonly snapshot: Snapshot; readonly at: number };
  readonly promotion?: readonly PromotionResult[];
  readonly traffic?: {
    readonly records: number;
    readonly poolDisabled?: string;
    readonly at: number;
  };
  readonly verifiedTarget?: { readonly at: number };
  readonly error?: { readonly Error?: string; readonly Cause?: string };
  /** What the search step is asked to do (repointSearch); set by the failback machine. */
  readonly searchPhase?: SearchPhase;
  /** The region whose domain leads (`follow`, `stop`). */
  readonly searchLeader?: string;
  /** The indices to follow (`follow`). @default - the domain's own that its rules match */
  readonly searchIndices?: readonly string[];
}

export interface PromotionResult {
  readonly store: 'aurora' | 'cache' | 'search';
  readonly action: string;
  readonly at: number;
}

export class TargetUnhealthyError extends Error {
  override readonly name = 'TargetUnhealthyError';
}

const lockRef = (c: RunbookConfig) => ({ table: c.lockTable, cell: c.cell.jurisdiction });
const writerLeaseRef = lockRef;
const leaseOf = (s: RunbookState): Lease => {
  if (!s.lock?.acquired) throw new Error('the runbook does not hold the lock');
  return s.lock.lease;
};
const targetOf = (s: RunbookState): string => {
  if (!s.target?.target) throw new Error('no target chosen');
  return s.target.target;
};

/**
 * Runs a lock-table operation at the first lock endpoint that answers (c.lockRegions: the MRSC
 * replicas, own first, or the single lock home). A refusal (FencedError) is an answer, not an
 * outage: it is thrown at once. Every lock operation is idempotent for its caller, so repeating
 * one at the next endpoint after a timeout is safe.
 */
function onLock<T>(
  c: RunbookConfig,
  k: Clients,
  op: (ddb: DynamoDBClient) => Promise<T>,
): Promise<T> {
  return atFirstEndpoint(
    c.lockRegions,
    (region) => op(k.dynamodb(region)),
    (err) => err instanceof FencedError,
  );
}

/**
 * Presents the fencing token; throws FencedError when the lease is lost. A step acts only after
 * this and within its Lambda timeout, which is shorter than the lease it has just renewed, so no
 * other execution can take the lock before the action is done.
 */
const guard = (c: RunbookConfig, k: Clients, s: RunbookState, step: string) =>
  onLock(c, k, (ddb) => fence(ddb, lockRef(c), leaseOf(s), step, c.leaseSeconds, k.now()));

/** Writes a region's state, after `guard` returned `lease`. */
const writeRegionState = (
  c: RunbookConfig,
  k: Clients,
  region: string,
  state: RegionState,
  lease: Lease,
) => onLock(c, k, (ddb) => setRegionState(ddb, c.lockTable, region, state, lease.token, k.now()));

async function probe(
  k: Clients,
  url: string,
): Promise<{ ok: boolean; body: string; detail: string }> {
  try {
    const res = await k.fetch(url, { signal: AbortSignal.timeout(3000) });
    const body = await res.text();
    const ok = res.status === 200 && body.includes(HEALTHY_MARKER);
    return { ok, body, detail: `HTTP ${res.status}` };
  } catch (err) {
    return { ok: false, body: '', detail: (err as Error).message };
  }
}

/** A check's state in a region's health answer: true ok, false failing or timed out. */
const checkOk = (body: string, check: string): boolean | undefined => {
  const state = parseHealthBody(body)?.checks[check];
  return state === undefined ? undefined : state === 'ok';
};
const lagOf = (body: string): number | undefined => {
  const lag = parseHealthBody(body)?.lagSeconds;
  return typeof lag === 'number' ? lag : undefined;
};

/** Verify the failure: health endpoint, Route 53 checkers, critical alarms; a quorum decides. */
export async function verifyFailure(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<Verification> {
  const region = s.input.failedRegion;
  const signals: Record<string, Signal> = {};
  const details: Record<string, string> = {};
  const endpoint = await probe(k, healthUrl(c, region));
  signals.endpoint = endpoint.ok ? 'healthy' : 'unhealthy';
  details.endpoint = endpoint.detail;
  try {
    const id = await healthCheckOf(k.route53, region);
    if (!id) throw new Error('no Route 53 health check tagged with the region');
    const { total, healthy } = await checkersOf(k.route53, id);
    const failing = total - healthy;
    signals.route53 = total === 0 ? 'unknown' : failing * 2 > total ? 'unhealthy' : 'healthy';
    details.route53 = `${failing}/${total} checkers failing`;
  } catch (err) {
    signals.route53 = 'unknown';
    details.route53 = (err as Error).message;
  }
  // Critical alarms about the region, where the stacks define them: in the region watching it
  // (its region-down signals) and in itself (replication lag, on a secondary), if it answers.
  const hosts = c.criticalAlarmHosts[region] ?? [];
  const firing: string[] = [];
  const failed: string[] = [];
  for (const host of hosts) {
    try {
      const alarms = await k.cloudwatch(host).send(
        new DescribeAlarmsCommand({
          AlarmNamePrefix: namesOf(c, region).criticalAlarmPrefix,
          StateValue: 'ALARM',
        }),
      );
      firing.push(...(alarms.MetricAlarms ?? []).map((a) => a.AlarmName ?? '?'));
    } catch (err) {
      failed.push(`${host}: ${(err as Error).name}`);
    }
  }
  signals.alarms =
    firing.length > 0 ? 'unhealthy' : failed.length === hosts.length ? 'unknown' : 'healthy';
  details.alarms =
    hosts.length === 0
      ? 'no region keeps critical alarms about it'
      : firing.length > 0
        ? firing.join(', ')
        : failed.length > 0
          ? `no critical alarm readable (${failed.join('; ')})`
          : 'no critical alarm';
  // The watchers' votes, from the lock table: the majority every watcher counts (votes.ts).
  const watchers = c.watchers?.[region] ?? [];
  if (watchers.length > 0) {
    try {
      const votes = await readVotes(
        { table: c.lockTable, endpoints: c.lockRegions },
        (r) => k.dynamodb(r),
        region,
        watchers,
      );
      const t = tally(watchers, votes, k.now());
      signals.watchers =
        t.verdict === 'down' ? 'unhealthy' : t.verdict === 'up' ? 'healthy' : 'unknown';
      details.watchers = `${t.down.length} of ${t.watchers} watchers see it down, ${t.up.length} up (majority ${t.quorum}: ${watchers.join(', ')})`;
    } catch (err) {
      signals.watchers = 'unknown';
      details.watchers = `votes unreadable: ${(err as Error).name}`;
    }
  }
  const writer = checkOk(endpoint.body, 'aurora-writer') === true;
  return verify(region, signals, details, c.quorum, writer, k.now());
}

export function assessFailure(c: RunbookConfig, s: RunbookState): Assessment {
  if (!s.verification) throw new Error('assess needs a verification');
  return assess(s.verification, s.input.mode, c.maxSwitchoverLagSeconds);
}

export const acquireLock = (c: RunbookConfig, k: Clients, s: RunbookState): Promise<Acquired> =>
  onLock(c, k, (ddb) => acquire(ddb, lockRef(c), s.execution, c.leaseSeconds, k.now()));

export async function releaseLock(c: RunbookConfig, k: Clients, s: RunbookState) {
  const held = s.lock?.acquired ? s.lock.lease : undefined;
  return { released: held ? await onLock(c, k, (ddb) => release(ddb, lockRef(c), held)) : false };
}

/** The healthy same-jurisdiction region with the best priority; its lag estimates the RPO. */
export async function pickTarget(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<TargetChoice & { lagSeconds?: number }> {
  const failed = c.cell.regions.find((r) => r.id === s.input.failedRegion);
  if (!failed)
    return {
      reason: `${s.input.failedRegion} is not a region of cell ${c.cell.jurisdiction}`,
      considered: [],
    };
  const probes = await Promise.all(
    c.cell.regions
      .filter((r) => r.id !== failed.id)
      .map(async (r) => ({ r, p: await probe(k, healthUrl(c, r.id)) })),
  );
  const choice = chooseTarget(
    failed,
    probes.map(({ r, p }) => ({ ...r, healthy: p.ok })),
  );
  const lag = probes.find(({ r }) => r.id === choice.target)?.p.body;
  const lagSeconds = lag ? lagOf(lag) : undefined;
  return { ...choice, ...(lagSeconds !== undefined ? { lagSeconds } : {}) };
}

const recordNames = (c: RunbookConfig) => [
  `${c.apiName}.${c.zoneName}.`,
  `${c.cell.jurisdiction}.${c.zoneName}.`,
];

async function cloudflare(c: RunbookConfig, k: Clients, path: string, init?: RequestInit) {
  const secret = await k.secrets.send(
    new GetSecretValueCommand({ SecretId: c.cloudflare.tokenSecretArn }),
  );
  return cloudflareApi(
    k.fetch,
    c.cloudflare.accountId,
    tokenFromSecret(secret.SecretString),
    path,
    {
      ...(init?.method ? { method: init.method } : {}),
      ...(typeof init?.body === 'string' ? { body: init.body } : {}),
    },
  );
}

/** A region's latency records (api and jurisdiction names), as Route 53 holds them now. */
async function regionRecords(
  c: RunbookConfig,
  k: Clients,
  region: string,
): Promise<ResourceRecordSet[]> {
  const records: ResourceRecordSet[] = [];
  for (const name of recordNames(c)) {
    const out = await k.route53.send(
      new ListResourceRecordSetsCommand({
        HostedZoneId: c.hostedZoneId,
        StartRecordName: name,
        StartRecordType: 'CNAME',
      }),
    );
    records.push(
      ...(out.ResourceRecordSets ?? []).filter(
        (r) => r.Name === name && r.SetIdentifier === region,
      ),
    );
  }
  return records;
}

/**
 * Fence the old region: record what routing looks like now (rollback restores it), then mark the
 * region `fenced` in the state table, which applications and the sync functions honour.
 */
export async function fenceRegion(c: RunbookConfig, k: Clients, s: RunbookState) {
  const lease = await guard(c, k, s, 'fence-region');
  const failed = s.input.failedRegion;
  let records: ResourceRecordSet[] = [];
  let route53Unavailable: string | undefined;
  try {
    records = await regionRecords(c, k, failed);
  } catch (err) {
    route53Unavailable = (err as Error).name;
  }
  let pool: Snapshot['pool'];
  try {
    const pools = (await cloudflare(c, k, '/load_balancers/pools')) as {
      id: string;
      name: string;
      enabled: boolean;
    }[];
    const p = pools.find((x) => x.name === namesOf(c, failed).pool);
    if (p) pool = { id: p.id, enabled: p.enabled };
  } catch {
    // Cloudflare unreachable: the traffic step will retry; nothing to restore for it.
  }
  const previousState = await onLock(c, k, (ddb) => regionState(ddb, c.lockTable, failed));
  await writeRegionState(c, k, failed, 'fenced', lease);
  return {
    snapshot: {
      records,
      ...(pool ? { pool } : {}),
      ...(route53Unavailable ? { route53Unavailable } : {}),
      previousState,
    },
    at: k.now(),
  };
}

/**
 * Raised by a promote step while its promotion is in flight. The state machine retries the step
 * with backoff (bounded: see failover-runbook.ts PROMOTION_RETRY), so promotion is awaited by the
 * runbook, not by a sleeping Lambda; every retry presents the fencing token again, which renews
 * the lease while the promotion takes its time.
 */
export class PromotionPendingError extends Error {
  override readonly name = 'PromotionPending';
}

/**
 * Promote the cell's Aurora global database to the target: switchover (RPO 0) or failover. Safe
 * to repeat: it starts the operation once, then reports it pending until the target is the writer
 * and the global cluster is available again (only then does the traffic shift come).
 */
export async function promoteAurora(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<PromotionResult> {
  await guard(c, k, s, 'promote-aurora');
  const target = targetOf(s);
  const rds = k.rds(target);
  const arn = `arn:aws:rds:${target}:${c.account}:cluster:${namesOf(c, target).cluster}`;
  const switchover = s.assessment?.action === 'switchover';
  const kind = switchover ? 'switchover' : 'failover (data loss allowed)';
  const describe = await rds.send(
    new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: c.cell.globalCluster }),
  );
  const global = describe.GlobalClusters?.[0];
  const writer = global?.GlobalClusterMembers?.find((m) => m.IsWriter)?.DBClusterArn;
  const moving = global?.FailoverState;
  if (moving?.Status) {
    if (moving.ToDbClusterArn && moving.ToDbClusterArn !== arn)
      throw new Error(`aurora: a promotion to ${moving.ToDbClusterArn} is already in flight`);
    throw new PromotionPendingError(`aurora: ${kind} to ${target} ${moving.Status}`);
  }
  const failedArn = `arn:aws:rds:${s.input.failedRegion}:${c.account}:cluster:${namesOf(c, s.input.failedRegion).cluster}`;
  if (writer && writer !== arn && writer !== failedArn)
    throw new Error(
      `aurora: the writer is ${writer.split(':').pop()}, not the failed region ${s.input.failedRegion}: a healthy writer is never moved`,
    );
  if (writer === arn) {
    if (global?.Status !== 'available')
      throw new PromotionPendingError(`aurora: ${target} is writer, cluster ${global?.Status}`);
    return { store: 'aurora', action: `${kind} to ${target}; writer now ${target}`, at: k.now() };
  }
  // The writer's lease first (writer-lease.ts): an unplanned failover waits until the old
  // writer's lease has run out plus the skew bound, by which time it has fenced itself.
  const taken = await onLock(c, k, (ddb) =>
    takeWriterLease(ddb, writerLeaseRef(c), target, { now: k.now(), planned: switchover }),
  );
  if (!taken.taken)
    throw new PromotionPendingError(
      `aurora: ${taken.holder.holder}'s writer lease runs until ${new Date(taken.holder.expiresAt).toISOString()}; ${kind} to ${target} waits until ${new Date(taken.notBefore).toISOString()}`,
    );
  await rds.send(
    switchover
      ? new SwitchoverGlobalClusterCommand({
          GlobalClusterIdentifier: c.cell.globalCluster,
          TargetDbClusterIdentifier: arn,
        })
      : new FailoverGlobalClusterCommand({
          GlobalClusterIdentifier: c.cell.globalCluster,
          TargetDbClusterIdentifier: arn,
          AllowDataLoss: true,
        }),
  );
  throw new PromotionPendingError(`aurora: ${kind} to ${target} started`);
}

/**
 * Promote the target's member of the cell's Global Datastore; like promoteAurora, it starts the
 * failover once and is pending until the target's member is the primary and the datastore is
 * available.
 */
export async function promoteCache(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<PromotionResult> {
  await guard(c, k, s, 'promote-cache');
  const target = targetOf(s);
  const ds = c.cell.datastore;
  const member = ds?.members[target];
  if (!ds || !member)
    return { store: 'cache', action: 'no Global Datastore in this cell', at: k.now() };
  const ec = k.elasticache(target);
  const out = await ec.send(
    new DescribeGlobalReplicationGroupsCommand({
      GlobalReplicationGroupId: ds.id,
      ShowMemberInfo: true,
    }),
  );
  const group = out.GlobalReplicationGroups?.[0];
  const primary = group?.Members?.find((m) => m.Role === 'PRIMARY')?.ReplicationGroupId;
  if (group?.Status === 'modifying')
    throw new PromotionPendingError(`cache: datastore ${ds.id} is modifying`);
  if (primary === member)
    return {
      store: 'cache',
      action: `datastore ${ds.id} primary now ${member} (${target})`,
      at: k.now(),
    };
  await ec.send(
    new FailoverGlobalReplicationGroupCommand({
      GlobalReplicationGroupId: ds.id,
      PrimaryRegion: target,
      PrimaryReplicationGroupId: member,
    }),
  );
  throw new PromotionPendingError(`cache: failover of ${ds.id} to ${member} started`);
}

/**
 * What the search step is asked to do: at promotion (no phase), the target stops following the
 * failed region; in a failback, run from the current writer T, the original region O's domain
 * first catches up by following T's (`failback-catch-up`), then after the switch back leads again
 * (`failback-lead`: O stops following T, T follows O). O's part runs in O's own search step, which
 * T invokes by name (`follow` or `stop`, with `searchLeader`): a domain answers only inside its VPC.
 */
export type SearchPhase = 'failback-catch-up' | 'failback-lead' | 'follow' | 'stop';

export interface SearchResult extends PromotionResult {
  /** The indices acted on (`stop`: stopped; `follow`: started or already following). */
  readonly indices?: readonly string[];
}

/**
 * OpenSearch. Search is not what accepts the cell's writes: when the step cannot act, it reports
 * the manual action instead of failing the failover or failback (and so rolling back traffic
 * after Aurora moved).
 */
export async function repointSearch(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<SearchResult> {
  const phase = s.searchPhase;
  await guard(c, k, s, phase ? `search-${phase}` : 'repoint-search');
  if (phase === 'failback-catch-up' || phase === 'failback-lead') return failbackSearch(c, k, s);
  if (phase === 'follow' || phase === 'stop') return ownDomain(c, k, s, phase);
  const target = targetOf(s);
  const failed = s.input.failedRegion;
  const domain = c.search?.domains[target];
  const manual = (why: string) => ({
    store: 'search' as const,
    action: `manual: stop replication into ${domain ?? `the ${target} domain`} from ${failed} (POST _plugins/_replication/<index>/_stop), ${why}`,
    at: k.now(),
  });
  if (!c.search || !domain)
    return { store: 'search', action: 'no search domain in this cell', at: k.now() };
  if (target !== c.region) return manual(`from ${target}'s VPC: this runbook runs in ${c.region}`);
  try {
    const r = await stopFollowing({ http: await searchApi(c, k, s), domain, leader: failed });
    return {
      store: 'search',
      action: `${domain} no longer follows ${failed}: ${r.stopped.length} index(es) stopped, ${r.alreadyStopped.length} already stopped, ${r.rulesRemoved.length} auto-follow rule(s) removed`,
      at: k.now(),
    };
  } catch (err) {
    return manual(`the step could not: ${(err as Error).name}`);
  }
}

/** This region's domain's REST API, signed as its search admin role. */
async function searchApi(c: RunbookConfig, k: Clients, s: RunbookState) {
  const search = c.search as NonNullable<RunbookConfig['search']>;
  const domain = search.domains[c.region] as string;
  return signedHttp({
    endpoint: await domainEndpoint(k.opensearch(c.region), domain),
    region: c.region,
    credentials: assumedRoleCredentials(
      k.sts,
      search.adminRoleArn,
      `runbook-${s.execution}`.slice(0, 64),
    ),
    fetch: k.fetch,
    timeoutMs: SEARCH_CALL_TIMEOUT_MS,
  });
}

/** `follow` or `stop`, on this region's own domain, as a failback run elsewhere asks. */
async function ownDomain(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
  phase: 'follow' | 'stop',
): Promise<SearchResult> {
  const leader = s.searchLeader ?? '';
  const domain = c.search?.domains[c.region];
  if (!domain) return { store: 'search', action: 'no search domain here', at: k.now() };
  const http = await searchApi(c, k, s);
  if (phase === 'stop') {
    const r = await stopFollowing({ http, domain, leader });
    return {
      store: 'search',
      action: `${domain} leads again: ${r.stopped.length} index(es) no longer follow ${leader}`,
      indices: [...r.stopped, ...r.alreadyStopped],
      at: k.now(),
    };
  }
  const r = await followLeader({
    http,
    domain,
    leader,
    replaceStale: true,
    ...(s.searchIndices ? { indices: s.searchIndices } : {}),
  });
  const blocked = r.blocked.map((b) => `${b.index} (${b.reason})`);
  return {
    store: 'search',
    action: `${domain} follows ${leader}: ${r.started.length} started (${r.replaced.length} stale copies replaced), ${r.alreadyFollowing.length} already following${blocked.length ? `; blocked: ${blocked.join(', ')}` : ''}`,
    indices: [...r.started, ...r.alreadyFollowing],
    at: k.now(),
  };
}

/**
 * The failback's search part, run from the current writer T (this region) for the original
 * region O: before the switch back, O's domain follows T's (its stale copies replaced, so it has
 * what T took while it led); after it, O's stops following T and T's follows O's again, as before
 * the failover. O's part runs in O's search step, invoked by name. Auto-follow rules the promotion
 * removed come back with the next deploy (the replication custom resource puts them).
 */
async function failbackSearch(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<SearchResult> {
  const original = targetOf(s);
  const here = c.region;
  const fn = c.search?.steps?.[original];
  const manual = (what: string, why: string): SearchResult => ({
    store: 'search',
    action: `manual: ${what}, ${why}`,
    at: k.now(),
  });
  const caughtUp = `make ${c.search?.domains[original] ?? original}'s indices follow ${here}'s (PUT _plugins/_replication/<index>/_start)`;
  if (!c.search?.domains[original] || !c.search.domains[here])
    return { store: 'search', action: 'no search domain in this cell', at: k.now() };
  if (!fn) return manual(caughtUp, `no search step of ${original} is known to this runbook`);
  const remote = async (extra: Partial<RunbookState>): Promise<SearchResult> => {
    const out = await k.lambda(original).send(
      new InvokeCommand({
        FunctionName: fn,
        Payload: new TextEncoder().encode(JSON.stringify({ ...s, ...extra })),
      }),
    );
    const body = JSON.parse(new TextDecoder().decode(out.Payload ?? new Uint8Array())) as
      | SearchResult
      | { errorType?: string };
    if (out.FunctionError) throw new Error(`${fn}: ${(body as { errorType?: string }).errorType}`);
    return body as SearchResult;
  };
  try {
    if (s.searchPhase === 'failback-catch-up')
      return await remote({ searchPhase: 'follow', searchLeader: here });
    const led = await remote({ searchPhase: 'stop', searchLeader: here });
    const domain = c.search.domains[here] as string;
    const r = await followLeader({
      http: await searchApi(c, k, s),
      domain,
      leader: original,
      replaceStale: true,
      indices: led.indices ?? [],
    });
    return {
      store: 'search',
      action: `${led.action}; ${domain} follows ${original} again: ${r.started.length} started, ${r.alreadyFollowing.length} already following`,
      at: k.now(),
    };
  } catch (err) {
    return manual(
      s.searchPhase === 'failback-catch-up'
        ? caughtUp
        : `stop replication into ${c.search.domains[original]} from ${here}, then make ${c.search.domains[here]}'s indices follow ${original}'s`,
      `the step could not: ${(err as Error).name}: ${(err as Error).message.slice(0, 200)}`,
    );
  }
}

/** Move traffic: the failed region's latency records now send to the target; its pool is off. */
export async function shiftTraffic(c: RunbookConfig, k: Clients, s: RunbookState) {
  await guard(c, k, s, 'shift-traffic');
  const target = regionalName(c, targetOf(s));
  const records = s.fenced?.snapshot.records ?? [];
  if (records.length > 0)
    await k.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: c.hostedZoneId,
        ChangeBatch: {
          Comment: `failover ${s.execution}: ${s.input.failedRegion} → ${targetOf(s)}`,
          Changes: records.map((r) => ({
            Action: 'UPSERT',
            ResourceRecordSet: { ...r, ResourceRecords: [{ Value: target }] },
          })),
        },
      }),
    );
  const pool = s.fenced?.snapshot.pool;
  if (pool?.enabled)
    await cloudflare(c, k, `/load_balancers/pools/${pool.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ enabled: false }),
    });
  const unavailable = s.fenced?.snapshot.route53Unavailable;
  return {
    records: records.length,
    ...(pool ? { poolDisabled: pool.id } : {}),
    ...(unavailable
      ? { route53: `control plane unavailable (${unavailable}): health checks route away` }
      : {}),
    at: k.now(),
  };
}

/** The target answers healthy and its writer is reachable; otherwise the runbook rolls back. */
export async function verifyTarget(c: RunbookConfig, k: Clients, s: RunbookState) {
  const target = targetOf(s);
  const p = await probe(k, healthUrl(c, target));
  if (!p.ok)
    throw new TargetUnhealthyError(`${target} is not healthy after the switch: ${p.detail}`);
  if (checkOk(p.body, 'aurora-writer') === false)
    throw new TargetUnhealthyError(`${target}: its Aurora writer does not answer after promotion`);
  return { at: k.now() };
}

/**
 * Whether Aurora's writer has left the failed region or is leaving it (a promotion in flight):
 * a description of it, or undefined. Asked of the target's region, which answers in an outage.
 */
async function writerMoved(
  c: RunbookConfig,
  k: Clients,
  s: RunbookState,
): Promise<string | undefined> {
  const asked = s.target?.target ?? c.region;
  const out = await k
    .rds(asked)
    .send(new DescribeGlobalClustersCommand({ GlobalClusterIdentifier: c.cell.globalCluster }));
  const global = out.GlobalClusters?.[0];
  if (global?.FailoverState?.Status) return `is moving (${global.FailoverState.Status})`;
  const writer = global?.GlobalClusterMembers?.find((m) => m.IsWriter)?.DBClusterArn ?? '';
  const failedArn = `arn:aws:rds:${s.input.failedRegion}:${c.account}:cluster:${namesOf(c, s.input.failedRegion).cluster}`;
  return writer && writer !== failedArn ? `is now ${writer.split(':').pop()}` : undefined;
}

/** Undo routing and fencing from the snapshot; report what cannot be undone automatically. */
export async function rollback(c: RunbookConfig, k: Clients, s: RunbookState) {
  // Rollback acts too, so it presents the token: an execution that lost its lease (another one
  // may have failed the cell over since) is refused here and changes nothing.
  const lease = await guard(c, k, s, 'rollback');
  const restored: string[] = [];
  // Once Aurora's writer has left the failed region (or is leaving it), routing and fencing stay
  // as they are: sending traffic back to, or unfencing, the old writer would give the cell two.
  const moved = await writerMoved(c, k, s);
  const records = moved ? [] : (s.fenced?.snapshot.records ?? []);
  if (records.length > 0) {
    await k.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: c.hostedZoneId,
        ChangeBatch: {
          Comment: `rollback of ${s.execution}`,
          Changes: records.map((r) => ({ Action: 'UPSERT', ResourceRecordSet: r })),
        },
      }),
    );
    restored.push(`${records.length} Route 53 record(s)`);
  }
  const pool = moved ? undefined : s.fenced?.snapshot.pool;
  if (pool?.enabled) {
    await cloudflare(c, k, `/load_balancers/pools/${pool.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ enabled: true }),
    });
    restored.push(`Cloudflare pool ${pool.id}`);
  }
  if (s.fenced && !moved) {
    const previous = s.fenced.snapshot.previousState ?? 'active';
    await writeRegionState(c, k, s.input.failedRegion, previous, lease);
    if (previous === 'active') restored.push(`${s.input.failedRegion} unfenced`);
  }
  // A promotion that revoked or took the writer lease and did not move Aurora gives it back, so
  // the old writer, if alive, renews and unfences itself.
  const target = s.target?.target;
  if (!moved && target) {
    const back = await onLock(c, k, (ddb) =>
      returnWriterLease(ddb, writerLeaseRef(c), target, s.input.failedRegion),
    );
    if (back) restored.push(`writer lease to ${s.input.failedRegion}`);
  }
  if (moved)
    restored.push(
      `nothing: Aurora's writer ${moved}, so ${s.input.failedRegion} stays fenced and traffic stays where it is`,
    );
  const notUndone = (s.promotion ?? [])
    .filter((p) => !p.action.startsWith('no '))
    .map((p) => p.action);
  const error = s.error?.Cause ?? s.error?.Error ?? 'unknown';
  return {
    restored,
    notUndone,
    error,
    summary: `rolled back after: ${error}; restored ${restored.join(', ') || 'nothing'}${notUndone.length ? `; not undone (needs an operator): ${notUndone.join('; ')}` : ''}`,
    at: k.now(),
  };
}

/**
 * The event report: timeline, measured RTO, RPO estimate; written to the audit bucket. Fenced like
 * every step that changes anything: an execution that lost its lease writes no second report, and
 * the state machine posts "completed" only after this step (within the lease it has just renewed).
 */
export async function recordEvent(c: RunbookConfig, k: Clients, s: RunbookState) {
  await guard(c, k, s, 'record');
  const now = k.now();
  const start = s.input.detectedAt ?? s.verification?.at ?? s.startedAt ?? now;
  const timeline = [
    ['verified', s.verification?.at],
    ['fenced', s.fenced?.at],
    ...(s.promotion ?? []).map((p) => [`promoted ${p.store}`, p.at] as const),
    ['traffic shifted', s.traffic?.at],
    ['target verified', s.verifiedTarget?.at],
    ['recorded', now],
  ].filter((e): e is [string, number] => typeof e[1] === 'number');
  const rpoSeconds = s.assessment?.action === 'switchover' ? 0 : (s.target?.lagSeconds ?? null);
  const report = {
    execution: s.execution,
    cell: s.input.cell,
    from: s.input.failedRegion,
    to: s.target?.target,
    action: s.assessment?.action,
    reason: s.assessment?.reason,
    verification: s.verification,
    promotion: s.promotion,
    timeline: timeline.map(([what, at]) => ({
      what,
      at: new Date(at).toISOString(),
      secondsFromStart: (at - start) / 1000,
    })),
    rtoSeconds: (now - start) / 1000,
    rpoSeconds,
  };
  const key = `failover/${datePath(new Date(now))}/${s.execution}.json`;
  await k.s3.send(
    new PutObjectCommand({
      Bucket: c.auditBucket,
      Key: key,
      Body: JSON.stringify(report, null, 2),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  return { key, rtoSeconds: report.rtoSeconds, rpoSeconds };
}

/** Failback: is the original region healthy, and is its replica caught up? */
export async function checkOriginal(c: RunbookConfig, k: Clients, s: RunbookState) {
  const original = s.target?.target ?? '';
  const p = await probe(k, healthUrl(c, original));
  const lagSeconds = lagOf(p.body);
  const caughtUp = lagSeconds === undefined || lagSeconds <= c.maxSwitchoverLagSeconds;
  return {
    region: original,
    healthy: p.ok,
    caughtUp,
    ready: p.ok && caughtUp,
    detail: `${p.detail}${lagSeconds !== undefined ? `; lag ${lagSeconds} s` : ''}`,
    at: k.now(),
  };
}

/** Failback: the original region's records answer with its own name again; its pool is on. */
export async function restoreTraffic(c: RunbookConfig, k: Clients, s: RunbookState) {
  const lease = await guard(c, k, s, 'restore-traffic');
  const original = s.target?.target ?? '';
  const own = regionalName(c, original);
  const records = await regionRecords(c, k, original);
  if (records.length > 0)
    await k.route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: c.hostedZoneId,
        ChangeBatch: {
          Comment: `failback ${s.execution}: ${original} serves itself again`,
          Changes: records.map((r) => ({
            Action: 'UPSERT',
            ResourceRecordSet: { ...r, ResourceRecords: [{ Value: own }] },
          })),
        },
      }),
    );
  const pools = (await cloudflare(c, k, '/load_balancers/pools')) as {
    id: string;
    name: string;
    enabled: boolean;
  }[];
  const pool = pools.find((x) => x.name === namesOf(c, original).pool);
  if (pool && !pool.enabled)
    await cloudflare(c, k, `/load_balancers/pools/${pool.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ enabled: true }),
    });
  await writeRegionState(c, k, original, 'active', lease);
  return { records: records.length, ...(pool ? { poolEnabled: pool.id } : {}), at: k.now() };
}
