/**
 * Search repointed for real (issue 16 item 5): what the runbook does to OpenSearch when a cell's
 * writer moves. Pure functions of a signed request function (lambda/shared/signed-http.ts, or the
 * drill's fake) and the region names; each talks to ONE domain's REST API, so the step that calls
 * it must run where that domain is reachable (the domains are VPC-only: a function in the same
 * region's VPC).
 *
 * - Promotion of target T after the leader F failed: {@link stopFollowing} on T stops every index T
 *   follows from F and removes the auto-follow rules the custom resource put for F; T's indices
 *   then accept writes.
 * - Failback into the original region O: {@link followLeader} on O makes O's indices follow T's
 *   through O's connection to T ({@link ensureFollowConnection} checks it, and re-creates it with
 *   the custom resource's calls when it is gone).
 * - {@link domainEndpoint} finds a domain's endpoint at run time (DescribeDomain).
 * - {@link SEARCH_IAM} lists what each function needs.
 *
 * What the custom resource (lambda/opensearch-replication) creates, per follower region and per
 * leader the residency plan lets it follow: an outbound connection `from-<leader>` on the
 * follower, accepted on the leader, and one auto-follow rule `<leader>-<class>` per allowed class.
 * Inside a cell every region may hold every class of every other, so both directions exist from
 * the first deploy: O already has `from-T`, T has `from-O`.
 *
 * API facts, from the stored docs (OpenSearch replication plugin API:
 * https://docs.opensearch.org/latest/tuning-your-cluster/replication-plugin/api/ ; Amazon
 * OpenSearch Service: https://docs.aws.amazon.com/opensearch-service/latest/developerguide/replication.html)
 * and, where the docs say nothing about errors, the plugin's source
 * (github.com/opensearch-project/cross-cluster-replication, src/main/kotlin/org/opensearch/replication/action/…):
 * - `POST _plugins/_replication/<index>/_stop` with body `{}`, sent to the follower: "Terminates
 *   replication and converts the follower index to a standard index" → `{"acknowledged":true}`.
 *   An index that is not replicating (never was, already stopped, or missing): HTTP 400
 *   `illegal_argument_exception` "No replication in progress for index:<index>"
 *   (stop/TransportStopIndexReplicationAction.kt). Stop works while the leader is down (the plugin
 *   only logs the retention lease it cannot release). AWS: "You can't restart replication after you
 *   stop it": the follower index must be deleted before it can follow again.
 * - `GET _plugins/_replication/follower_stats`: counts `num_syncing_indices`,
 *   `num_bootstrapping_indices`, `num_paused_indices`, `num_failed_indices`, and `index_stats` keyed
 *   by index — for SYNCING indices only (stats/FollowerStatsResponse.kt fills it from shard tasks),
 *   so paused, failed and bootstrapping followers must be found another way: `GET _cat/indices`
 *   (https://docs.opensearch.org/latest/api-reference/cat/cat-indices/, `format=json`, `h=index`).
 * - `GET _plugins/_replication/<index>/_status`: `status` SYNCING, BOOTSTRAPING, PAUSED or
 *   "REPLICATION NOT IN PROGRESS", with `leader_alias`, `leader_index`, `follower_index`. For a
 *   running index the plugin asks the leader for its checkpoints, and any failure there answers
 *   HTTP 500 "failed to fetch replication status" (status/TransportReplicationStatusAction.kt): with
 *   the leader down, a running follower's alias cannot be read.
 * - `GET _plugins/_replication/autofollow_stats`: `autofollow_stats[]` with each rule's `name`
 *   and `pattern` (no alias). AWS: "To retrieve a list of existing replication rules on a domain,
 *   use the auto-follow stats API operation."
 * - `DELETE _plugins/_replication/_autofollow` `{"leader_alias","name"}`: "prevents any new indexes
 *   from being replicated but does not stop existing replication". A rule that is not there:
 *   `{"acknowledged":true}` on most versions, HTTP 404 on the newest (ReplicationMetadataManager.kt).
 * - `PUT _plugins/_replication/<index>/_start`
 *   `{"leader_alias","leader_index","use_roles":{"leader_cluster_role","follower_cluster_role"}}`,
 *   sent to the follower; `use_roles` is required with the Security plugin. Errors, in the order
 *   the plugin checks (index/TransportReplicateIndexAction.kt, …ClusterManagerNodeAction.kt, and
 *   its integration tests): no connection of that alias, or none reachable → HTTP 404
 *   `no_such_remote_cluster_exception` "no such remote cluster: [<alias>]"; leader index missing →
 *   404 `index_not_found_exception`; leader index itself a follower → 400 "Cannot Replicate a
 *   Replicated Index <index>"; follower index exists → 400 "Cant use same index again for
 *   replication. Delete the index:<index>". So a `_start` that fails on the last check has passed
 *   every leader-side one.
 * - A follower index carries the block `index read-only(cross-cluster-replication)`: writes answer
 *   403 `cluster_block_exception` until it is stopped.
 *
 * Errors and results name domains, aliases, rules and indices only: never an answer's body (an
 * error's reason can quote a document's value), never a document.
 */
import {
  DescribeDomainCommand,
  type DescribeDomainCommandOutput,
  type OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import {
  autoFollowPatternMatches,
  connectionAlias,
  isRuleOfLeader,
  REPLICATION_ROLES,
} from '../../opensearch-replication/names';
import {
  type ConnectionDeps,
  type ConnectionProgress,
  connectionProgress,
  type DomainRef,
  startReplication,
} from '../../opensearch-replication/replication';
import type { HttpMethod, HttpResponse, SignedHttp } from '../signed-http';

/** One domain's REST API, and its name for errors. */
export interface SearchDomainApi {
  readonly http: SignedHttp;
  readonly domain: string;
}

/** A request timeout the step should give signedHttp: a dead region must not hold it until TCP gives up. */
export const SEARCH_CALL_TIMEOUT_MS = 5_000;

// ---------------------------------------------------------------------------------------------
// Errors the step maps: every one names the domain and the operation, none carries a body.

export type UnreachableReason = 'refused' | 'timeout' | 'network' | 'unavailable';

/** The domain did not answer (region down, network cut) or answered 502/503/504. Retryable. */
export class SearchUnreachableError extends Error {
  override readonly name = 'SearchUnreachableError';
  constructor(
    readonly domain: string,
    readonly reason: UnreachableReason,
    readonly operation: string,
  ) {
    super(`search domain ${domain} unreachable (${reason}) during ${operation}`);
  }
}

/** DescribeDomain knows no such domain, or it is being deleted, or it has no endpoint yet. */
export class SearchDomainNotFoundError extends Error {
  override readonly name = 'SearchDomainNotFoundError';
  constructor(
    readonly domain: string,
    readonly detail: 'not found' | 'deleted' | 'no endpoint',
  ) {
    super(`search domain ${domain}: ${detail}`);
  }
}

export interface CallFailure {
  /** The index, rule or API the call was about. */
  readonly target: string;
  readonly status: number;
  /** OpenSearch's error type (`illegal_argument_exception`, …), or `unparsed`. */
  readonly type: string;
}

/** Calls the domain answered with an error this module does not expect; the others were done. */
export class SearchReplicationError extends Error {
  override readonly name = 'SearchReplicationError';
  constructor(
    readonly domain: string,
    readonly operation: string,
    readonly failures: readonly CallFailure[],
  ) {
    super(
      `${operation} on ${domain}: ${failures.map((f) => `${f.target}: HTTP ${f.status} ${f.type}`).join('; ')}`,
    );
  }
}

/** `_start` found no connection of this alias (or none it can reach) on the follower. */
export class FollowConnectionMissingError extends Error {
  override readonly name = 'FollowConnectionMissingError';
  constructor(
    readonly domain: string,
    readonly alias: string,
  ) {
    super(`search domain ${domain} has no usable cross-cluster connection ${alias}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Endpoint

/**
 * The HTTPS host of a domain, read at run time (DescribeDomain): the VPC endpoint
 * (`Endpoints.vpc`) for a VPC domain, else the public `Endpoint`.
 * https://docs.aws.amazon.com/opensearch-service/latest/APIReference/API_DomainStatus.html
 */
export async function domainEndpoint(
  client: OpenSearchClient,
  domainName: string,
): Promise<string> {
  let status: DescribeDomainCommandOutput['DomainStatus'];
  try {
    status = (await client.send(new DescribeDomainCommand({ DomainName: domainName })))
      .DomainStatus;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException')
      throw new SearchDomainNotFoundError(domainName, 'not found');
    const reason = unreachableReason(err);
    if (reason) throw new SearchUnreachableError(domainName, reason, 'DescribeDomain');
    throw err;
  }
  if (!status) throw new SearchDomainNotFoundError(domainName, 'not found');
  if (status.Deleted) throw new SearchDomainNotFoundError(domainName, 'deleted');
  const endpoint = status.Endpoints?.vpc ?? status.Endpoint;
  if (!endpoint) throw new SearchDomainNotFoundError(domainName, 'no endpoint');
  return endpoint;
}

// ---------------------------------------------------------------------------------------------
// Promotion: stop following the failed leader

export interface StopFollowingInput extends SearchDomainApi {
  /** Region whose domain led (the failed one). */
  readonly leader: string;
}

export interface StopFollowingResult {
  /** Indices that followed the leader and were stopped by this call: writable now. */
  readonly stopped: readonly string[];
  /** Indices listed as following the leader that had stopped by the time this call stopped them. */
  readonly alreadyStopped: readonly string[];
  /** The leader's auto-follow rules this call removed. */
  readonly rulesRemoved: readonly string[];
  /** Followers of other leaders (or of an unreadable leader no rule of this one matches): left as they are. */
  readonly otherLeaders: readonly string[];
}

/**
 * Stops every index the domain follows from `leader`, then removes the leader's auto-follow rules.
 * Idempotent: a second call finds nothing to stop (no-op success), an index another run stopped
 * in between counts as done, and after a run that failed half-way the next one finishes it (the
 * rules go last, so their patterns still identify the leader's followers on a retry).
 *
 * Which indices follow `leader`: those whose `_status` names its alias, and, since a running
 * follower whose leader is down answers `_status` with 500, those answering so whose name a rule
 * of that leader matches.
 */
export async function stopFollowing(input: StopFollowingInput): Promise<StopFollowingResult> {
  const op = `stop following ${input.leader}`;
  const alias = connectionAlias(input.leader);
  const failures: CallFailure[] = [];
  const rules = await leaderRules(input, op, input.leader);
  const ours: string[] = [];
  const otherLeaders: string[] = [];
  for (const index of await followerCandidates(input, op)) {
    const s = await replicationStatus(input, op, index);
    if (s.kind === 'follows') (s.alias === alias ? ours : otherLeaders).push(index);
    else if (s.kind === 'unreadable')
      (rules.some((r) => autoFollowPatternMatches(r.pattern, index)) ? ours : otherLeaders).push(
        index,
      );
    else if (s.kind === 'failed') failures.push(s.failure);
  }
  const stopped: string[] = [];
  const alreadyStopped: string[] = [];
  for (const index of ours) {
    const res = await call(input, op, 'POST', `${REPLICATION}/${enc(index)}/_stop`, {});
    const e = osError(res);
    if (ok(res)) stopped.push(index);
    else if (res.status === 400 && /No replication in progress/i.test(e.reason))
      alreadyStopped.push(index);
    else failures.push({ target: index, status: res.status, type: e.type });
  }
  if (failures.length > 0) throw new SearchReplicationError(input.domain, op, failures);
  const rulesRemoved: string[] = [];
  for (const rule of rules) {
    const res = await call(input, op, 'DELETE', AUTOFOLLOW, {
      leader_alias: alias,
      name: rule.name,
    });
    if (ok(res)) rulesRemoved.push(rule.name);
    else if (res.status !== 404)
      failures.push({ target: `rule ${rule.name}`, status: res.status, type: osError(res).type });
  }
  if (failures.length > 0) throw new SearchReplicationError(input.domain, op, failures);
  return { stopped, alreadyStopped, rulesRemoved, otherLeaders };
}

// ---------------------------------------------------------------------------------------------
// Failback: follow the promoted region again

export interface FollowLeaderInput extends SearchDomainApi {
  /** Region whose domain leads now (the promoted target); the follower's connection to it is `from-<leader>`. */
  readonly leader: string;
  /**
   * Indices to follow. @default this domain's own indices that its auto-follow rules from
   * `leader` match (the ones the leader followed before the failover, and stopped at promotion)
   */
  readonly indices?: readonly string[];
  /**
   * Delete this domain's own copy of an index that stands in the way (the plugin only starts a
   * follower under a name that does not exist). That copy is stale: the leader took the writes
   * since the failover. It is deleted only after `_start` has passed every leader-side check, and
   * never while it follows anything. Without this, such indices are reported as `stale-copy`.
   */
  readonly replaceStale: boolean;
}

export type BlockedReason =
  /** The follower still has its own copy (replaceStale is off). */
  | 'stale-copy'
  /** The index already follows another leader. */
  | 'follows-other-leader'
  /** It follows this leader but is paused or failed (AWS: after 12 h paused it cannot resume). */
  | 'paused'
  /** The leader's index is itself a follower: the leader was not promoted (its stop did not run). */
  | 'leader-is-follower';

export interface FollowLeaderResult {
  /** Followers this call started (replaced ones included). */
  readonly started: readonly string[];
  /** Of `started`, those whose stale copy this call deleted first. */
  readonly replaced: readonly string[];
  /** Already following the leader. */
  readonly alreadyFollowing: readonly string[];
  /** The leader has no such index: this domain's copy is kept. */
  readonly missingOnLeader: readonly string[];
  readonly blocked: readonly { readonly index: string; readonly reason: BlockedReason }[];
}

/**
 * Makes the domain's indices follow `leader`'s (start replication with the connection alias
 * `from-<leader>`). Idempotent: an index already following the leader is left alone. Throws
 * {@link FollowConnectionMissingError} when the domain has no usable connection to the leader
 * ({@link ensureFollowConnection} makes one).
 */
export async function followLeader(input: FollowLeaderInput): Promise<FollowLeaderResult> {
  const op = `follow ${input.leader}`;
  const alias = connectionAlias(input.leader);
  const indices = input.indices ?? (await ownIndicesMatchingRules(input, op));
  const result = {
    started: [] as string[],
    replaced: [] as string[],
    alreadyFollowing: [] as string[],
    missingOnLeader: [] as string[],
    blocked: [] as { index: string; reason: BlockedReason }[],
  };
  const failures: CallFailure[] = [];
  /** Where the index stands now; true when nothing is left to do for it. */
  const settled = async (index: string): Promise<boolean> => {
    const s = await replicationStatus(input, op, index);
    if (s.kind === 'none') return false;
    if (s.kind === 'follows' && s.alias !== alias)
      result.blocked.push({ index, reason: 'follows-other-leader' });
    else if (s.kind === 'follows' && PAUSED.has(s.status))
      result.blocked.push({ index, reason: 'paused' });
    else if (s.kind === 'follows') result.alreadyFollowing.push(index);
    else if (s.kind === 'failed') failures.push(s.failure);
    else failures.push({ target: index, status: s.status, type: s.type });
    return true;
  };
  const start = (index: string) =>
    call(input, op, 'PUT', `${REPLICATION}/${enc(index)}/_start`, {
      leader_alias: alias,
      leader_index: index,
      use_roles: REPLICATION_ROLES,
    });
  for (const index of [...new Set(indices)].sort()) {
    if (await settled(index)) continue;
    let res = await start(index);
    let e = osError(res);
    if (e.type === 'no_such_remote_cluster_exception')
      throw new FollowConnectionMissingError(input.domain, alias);
    if (res.status === 400 && SAME_INDEX.test(e.reason)) {
      if (!input.replaceStale) {
        result.blocked.push({ index, reason: 'stale-copy' });
        continue;
      }
      // Auto-follow may have created the follower since the first look: never delete a follower.
      if (await settled(index)) continue;
      const del = await call(input, op, 'DELETE', `/${enc(index)}`);
      if (!ok(del) && del.status !== 404) {
        failures.push({ target: index, status: del.status, type: osError(del).type });
        continue;
      }
      res = await start(index);
      e = osError(res);
      if (ok(res)) result.replaced.push(index);
      else if (res.status === 400 && SAME_INDEX.test(e.reason) && (await settled(index))) continue;
    }
    if (ok(res)) result.started.push(index);
    else if (res.status === 404 && e.type === 'index_not_found_exception')
      result.missingOnLeader.push(index);
    else if (res.status === 400 && /Cannot Replicate a Replicated Index/i.test(e.reason))
      result.blocked.push({ index, reason: 'leader-is-follower' });
    else failures.push({ target: index, status: res.status, type: e.type });
  }
  if (failures.length > 0) throw new SearchReplicationError(input.domain, op, failures);
  return result;
}

/**
 * The follower's outbound connection to the leader (`from-<leader region>`), as the custom
 * resource made it at deploy time; when it is gone (deleted by hand, domain rebuilt), created and
 * accepted again with the custom resource's own calls (CreateOutboundConnection on the follower,
 * AcceptInboundConnection on the leader). `waiting` means: call again later (AWS documents minutes
 * until ACTIVE); `failed` (REJECTED, VALIDATION_FAILED, …) does not recover by itself.
 */
export async function ensureFollowConnection(
  deps: ConnectionDeps,
  follower: DomainRef,
  leader: DomainRef,
): Promise<ConnectionProgress> {
  const spec = { follower, leader, connectionAlias: connectionAlias(leader.region) };
  const progress = await connectionProgress(spec, deps);
  if (progress.state !== 'failed' || progress.status !== 'missing') return progress;
  await startReplication(spec, deps);
  return connectionProgress(spec, deps);
}

// ---------------------------------------------------------------------------------------------
// IAM

/**
 * What each function needs, for the step's role (`on`: `domain` = `arn:<p>:es:<region>:<account>:domain/<name>`,
 * `domain/*` = its REST paths; IAM matches `es:ESHttp<Method>` to the request's HTTP method,
 * https://docs.aws.amazon.com/opensearch-service/latest/developerguide/ac.html). Beyond IAM, the
 * REST calls pass fine-grained access control only as a principal mapped to replication
 * permissions: sign them as the domain's admin role (`sts:AssumeRole` on its SearchAdminRole,
 * whose trust policy must name the step's role: RegionalSearch.trustAdmin), as the custom
 * resource does.
 */
export const SEARCH_IAM = {
  domainEndpoint: [{ actions: ['es:DescribeDomain'], on: 'domain' }],
  // GET follower_stats, autofollow_stats, _cat/indices, <index>/_status; POST <index>/_stop;
  // DELETE _autofollow.
  stopFollowing: [
    { actions: ['es:ESHttpGet', 'es:ESHttpPost', 'es:ESHttpDelete'], on: 'domain/*' },
  ],
  // GET <index>/_status, autofollow_stats, _cat/indices; PUT <index>/_start; DELETE /<index>.
  followLeader: [{ actions: ['es:ESHttpGet', 'es:ESHttpPut', 'es:ESHttpDelete'], on: 'domain/*' }],
  ensureFollowConnection: [
    // No resource-level permission (the custom resource acknowledges the same `*`).
    { actions: ['es:DescribeOutboundConnections'], on: '*' },
    { actions: ['es:CreateOutboundConnection'], on: 'domain' },
    { actions: ['es:AcceptInboundConnection'], on: 'leader domain' },
  ],
} as const satisfies Record<
  string,
  readonly { readonly actions: readonly string[]; readonly on: string }[]
>;

/** `arn:<partition>:es:<region>:<account>:domain/<name>`, the resource of {@link SEARCH_IAM}. */
export const searchDomainArn = (partition: string, d: DomainRef): string =>
  `arn:${partition}:es:${d.region}:${d.account}:domain/${d.domainName}`;

// ---------------------------------------------------------------------------------------------
// The plugin's REST API

const REPLICATION = '/_plugins/_replication';
const AUTOFOLLOW = `${REPLICATION}/_autofollow`;
const NOT_REPLICATING = new Set(['REPLICATION NOT IN PROGRESS', 'STOPPED']);
const PAUSED = new Set(['PAUSED', 'FAILED']);
const SAME_INDEX = /Cant use same index again for replication/i;
const enc = encodeURIComponent;
const ok = (r: HttpResponse) => r.status >= 200 && r.status < 300;

/** One request; a domain that does not answer is a {@link SearchUnreachableError}. */
async function call(
  d: SearchDomainApi,
  operation: string,
  method: HttpMethod,
  path: string,
  body?: unknown,
): Promise<HttpResponse> {
  let res: HttpResponse;
  try {
    res = await d.http(method, path, body);
  } catch (err) {
    const reason = unreachableReason(err);
    if (reason) throw new SearchUnreachableError(d.domain, reason, operation);
    throw err;
  }
  if (res.status === 502 || res.status === 503 || res.status === 504)
    throw new SearchUnreachableError(d.domain, 'unavailable', operation);
  return res;
}

/** A GET whose JSON answer is needed; any error answer fails the operation. */
async function getJson<T>(d: SearchDomainApi, operation: string, path: string): Promise<T> {
  const res = await call(d, operation, 'GET', path);
  const target = path.replace(/\?.*$/, '');
  if (!ok(res))
    throw new SearchReplicationError(d.domain, operation, [
      { target, status: res.status, type: osError(res).type },
    ]);
  try {
    return JSON.parse(res.body) as T;
  } catch {
    throw new SearchReplicationError(d.domain, operation, [
      { target, status: res.status, type: 'unparsed' },
    ]);
  }
}

/** How fetch (undici) and the SDK report a peer that does not answer; undefined for anything else. */
function unreachableReason(err: unknown): UnreachableReason | undefined {
  const e = err as { name?: string; code?: string; cause?: { name?: string; code?: string } };
  const code = e?.cause?.code ?? e?.code;
  if (
    e?.name === 'TimeoutError' ||
    e?.name === 'AbortError' ||
    code === 'ETIMEDOUT' ||
    code === 'UND_ERR_CONNECT_TIMEOUT' ||
    e?.cause?.name === 'ConnectTimeoutError'
  )
    return 'timeout';
  if (code === 'ECONNREFUSED') return 'refused';
  if (
    code === 'ECONNRESET' ||
    code === 'EHOSTUNREACH' ||
    code === 'ENETUNREACH' ||
    code === 'ENOTFOUND' ||
    code === 'EAI_AGAIN' ||
    code === 'UND_ERR_SOCKET' ||
    (e?.name === 'TypeError' && /fetch failed/.test(String((err as Error).message)))
  )
    return 'network';
  return undefined;
}

/**
 * OpenSearch's error answer `{"error":{"type","reason"},"status"}` (or `{"error":"…"}` for an
 * unknown route, `{"message"}`/`{"Message"}` from the service's front end). The reason is for
 * matching only: it never leaves this module.
 */
function osError(res: HttpResponse): { type: string; reason: string } {
  if (ok(res)) return { type: '', reason: '' };
  try {
    const j = JSON.parse(res.body) as {
      error?: string | { type?: unknown; reason?: unknown };
      message?: unknown;
      Message?: unknown;
    };
    if (typeof j.error === 'object' && j.error)
      return { type: String(j.error.type ?? 'error'), reason: String(j.error.reason ?? '') };
    if (typeof j.error === 'string') return { type: 'error', reason: j.error };
    if (j.message !== undefined || j.Message !== undefined)
      return { type: 'service', reason: String(j.message ?? j.Message) };
  } catch {
    // not JSON (a proxy's page): nothing to match
  }
  return { type: 'unparsed', reason: '' };
}

type ReplicationStatus =
  | { readonly kind: 'none' }
  | { readonly kind: 'follows'; readonly alias: string; readonly status: string }
  /** 5xx: the plugin could not read the index's leader (a running follower whose leader is down). */
  | { readonly kind: 'unreadable'; readonly status: number; readonly type: string }
  | { readonly kind: 'failed'; readonly failure: CallFailure };

async function replicationStatus(
  d: SearchDomainApi,
  operation: string,
  index: string,
): Promise<ReplicationStatus> {
  const res = await call(d, operation, 'GET', `${REPLICATION}/${enc(index)}/_status`);
  if (!ok(res)) {
    const type = osError(res).type;
    return res.status >= 500
      ? { kind: 'unreadable', status: res.status, type }
      : { kind: 'failed', failure: { target: index, status: res.status, type } };
  }
  let j: { status?: unknown; leader_alias?: unknown };
  try {
    j = JSON.parse(res.body);
  } catch {
    return { kind: 'failed', failure: { target: index, status: res.status, type: 'unparsed' } };
  }
  const status = String(j.status ?? '');
  if (NOT_REPLICATING.has(status) || typeof j.leader_alias !== 'string') return { kind: 'none' };
  return { kind: 'follows', alias: j.leader_alias, status };
}

interface RuleStat {
  readonly name: string;
  readonly pattern: string;
}

/** The auto-follow rules the custom resource put for `leader` (by their names). */
async function leaderRules(
  d: SearchDomainApi,
  operation: string,
  leader: string,
): Promise<RuleStat[]> {
  const stats = await getJson<{ autofollow_stats?: RuleStat[] }>(
    d,
    operation,
    `${REPLICATION}/autofollow_stats`,
  );
  return (stats.autofollow_stats ?? []).filter(
    (r) => typeof r?.name === 'string' && isRuleOfLeader(r.name, leader),
  );
}

/** Non-system indices (`.`-prefixed ones are OpenSearch's own). */
async function userIndices(d: SearchDomainApi, operation: string): Promise<string[]> {
  const rows = await getJson<{ index?: unknown }[]>(
    d,
    operation,
    '/_cat/indices?format=json&h=index',
  );
  return rows
    .map((r) => r.index)
    .filter((i): i is string => typeof i === 'string' && !i.startsWith('.'));
}

/**
 * Indices that may be followers: the syncing ones follower_stats names, and, when it counts any
 * bootstrapping, paused or failed follower (which it does not name), every user index.
 */
async function followerCandidates(d: SearchDomainApi, operation: string): Promise<string[]> {
  const stats = await getJson<{
    num_bootstrapping_indices?: number;
    num_paused_indices?: number;
    num_failed_indices?: number;
    index_stats?: Record<string, unknown>;
  }>(d, operation, `${REPLICATION}/follower_stats`);
  const names = new Set(Object.keys(stats.index_stats ?? {}));
  const unnamed =
    (stats.num_bootstrapping_indices ?? 0) +
    (stats.num_paused_indices ?? 0) +
    (stats.num_failed_indices ?? 0);
  if (unnamed > 0) for (const i of await userIndices(d, operation)) names.add(i);
  return [...names].sort();
}

/** The domain's indices its auto-follow rules from `leader` match. */
async function ownIndicesMatchingRules(input: FollowLeaderInput, operation: string) {
  const rules = await leaderRules(input, operation, input.leader);
  if (rules.length === 0) return [];
  return (await userIndices(input, operation)).filter((i) =>
    rules.some((r) => autoFollowPatternMatches(r.pattern, i)),
  );
}
