/**
 * Cross-cluster replication between two OpenSearch domains, as idempotent steps:
 * outbound connection from the follower → accepted on the leader → auto-follow rules on the
 * follower through `_plugins/_replication`. CloudFormation has no resource for any of this; the
 * custom resource (./custom-resource.ts) runs a start step on each event and a continue step until
 * it reports done; the Provider framework does the waiting. All I/O is injected.
 */
import {
  AcceptInboundConnectionCommand,
  CreateOutboundConnectionCommand,
  DeleteOutboundConnectionCommand,
  DescribeOutboundConnectionsCommand,
  type OpenSearchClient,
  type OutboundConnection,
} from '@aws-sdk/client-opensearch';
import type { HttpResponse, SignedHttp } from '../shared/signed-http';
import { REPLICATION_ROLES } from './names';

export type { HttpResponse } from '../shared/signed-http';

export interface DomainRef {
  readonly domainName: string;
  readonly region: string;
  readonly account: string;
}

export interface AutoFollowRule {
  /** Rule name, unique on the follower. */
  readonly name: string;
  /** Index pattern on the leader, e.g. `public-*`. */
  readonly pattern: string;
}

/** The two domains of a cross-cluster connection and its alias on the follower. */
export interface ConnectionSpec {
  readonly leader: DomainRef;
  readonly follower: DomainRef;
  readonly connectionAlias: string;
}

export interface ReplicationSpec extends ConnectionSpec {
  /** HTTPS host of the follower domain (its VPC endpoint). */
  readonly followerEndpoint: string;
  readonly rules: readonly AutoFollowRule[];
}

/** What the connection API calls need: an OpenSearch API client for a region. */
export interface ConnectionDeps {
  readonly client: (region: string) => OpenSearchClient;
}

export interface ReplicationDeps extends ConnectionDeps {
  /** A SigV4-signed HTTPS request to the follower domain. */
  readonly http: SignedHttp;
}

export class ReplicationError extends Error {
  override readonly name = 'ReplicationError';
}

const GONE = new Set(['DELETED', 'DELETING', 'REJECTED', 'REJECTING']);
const AUTOFOLLOW = '/_plugins/_replication/_autofollow';

/** The live outbound connection of this alias from follower to leader, if any. */
export async function findConnection(
  spec: ConnectionSpec,
  deps: ConnectionDeps,
): Promise<OutboundConnection | undefined> {
  const out = await deps.client(spec.follower.region).send(
    new DescribeOutboundConnectionsCommand({
      Filters: [{ Name: 'local-domain-info.domain-name', Values: [spec.follower.domainName] }],
    }),
  );
  return (out.Connections ?? []).find(
    (c) =>
      c.ConnectionAlias === spec.connectionAlias &&
      c.RemoteDomainInfo?.AWSDomainInformation?.DomainName === spec.leader.domainName &&
      !GONE.has(c.ConnectionStatus?.StatusCode ?? ''),
  );
}

/** How far a connection has got; `failed` ones never recover on their own. */
export type ConnectionProgress =
  | { readonly state: 'active'; readonly connectionId: string }
  | { readonly state: 'waiting'; readonly connectionId: string; readonly status: string }
  | { readonly state: 'failed'; readonly status: string };

/** Statuses a connection passes through on its way to ACTIVE. */
const ON_ITS_WAY = new Set(['PENDING_ACCEPTANCE', 'VALIDATING', 'APPROVED', 'PROVISIONING']);

/**
 * First step (the custom resource's onEvent): the outbound connection created (or reused) and
 * accepted on the leader. Returns at once; {@link continueReplication} waits for ACTIVE.
 */
export async function startReplication(
  spec: ConnectionSpec,
  deps: ConnectionDeps,
): Promise<{ connectionId: string }> {
  let connection = await findConnection(spec, deps);
  if (!connection) {
    const created = await deps.client(spec.follower.region).send(
      new CreateOutboundConnectionCommand({
        ConnectionAlias: spec.connectionAlias,
        ConnectionMode: 'DIRECT',
        LocalDomainInfo: { AWSDomainInformation: toInfo(spec.follower) },
        RemoteDomainInfo: { AWSDomainInformation: toInfo(spec.leader) },
      }),
    );
    connection = { ConnectionId: created.ConnectionId, ConnectionStatus: created.ConnectionStatus };
  }
  const connectionId = connection.ConnectionId;
  if (!connectionId) throw new ReplicationError('OpenSearch returned a connection without an id');
  if (connection.ConnectionStatus?.StatusCode === 'PENDING_ACCEPTANCE') {
    await acceptOnLeader(spec, deps, connectionId);
  }
  return { connectionId };
}

/**
 * Where the connection stands, accepting it again if it still waits for the leader (an accept
 * can be lost while the connection is VALIDATING).
 */
export async function connectionProgress(
  spec: ConnectionSpec,
  deps: ConnectionDeps,
): Promise<ConnectionProgress> {
  const c = await findConnection(spec, deps);
  const status = c?.ConnectionStatus?.StatusCode ?? 'missing';
  if (!c?.ConnectionId || !(status === 'ACTIVE' || ON_ITS_WAY.has(status))) {
    return { state: 'failed', status };
  }
  if (status === 'ACTIVE') return { state: 'active', connectionId: c.ConnectionId };
  if (status === 'PENDING_ACCEPTANCE') await acceptOnLeader(spec, deps, c.ConnectionId);
  return { state: 'waiting', connectionId: c.ConnectionId, status };
}

/**
 * Second step (the custom resource's isComplete, called until it says done): once the connection
 * is ACTIVE, the auto-follow rules are put (existing ones are fine) and rules of `previous` that
 * the spec no longer has are removed. A connection that was rejected or deleted is an error
 * naming both domains, so CloudFormation fails at once instead of at the timeout.
 */
export async function continueReplication(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
  previous: readonly AutoFollowRule[] = [],
): Promise<ConnectionProgress> {
  const progress = await connectionProgress(spec, deps);
  if (progress.state === 'failed') {
    throw new ReplicationError(
      `connection ${spec.connectionAlias} (${spec.follower.domainName} → ${spec.leader.domainName}) is ${progress.status}, not ACTIVE`,
    );
  }
  if (progress.state === 'waiting') return progress;
  for (const rule of spec.rules) await putRule(spec, deps, rule);
  const keep = new Set(spec.rules.map((r) => r.name));
  for (const rule of previous.filter((r) => !keep.has(r.name))) await deleteRule(spec, deps, rule);
  return progress;
}

/** First step of a Delete: the rules and the connection removed; anything already gone is fine. */
export async function removeReplication(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
): Promise<void> {
  for (const rule of spec.rules) await deleteRule(spec, deps, rule);
  const connection = await findConnection(spec, deps);
  if (connection?.ConnectionId) {
    await deps
      .client(spec.follower.region)
      .send(new DeleteOutboundConnectionCommand({ ConnectionId: connection.ConnectionId }));
  }
}

/** Second step of a Delete: done once no live connection of this alias is left. */
export async function replicationRemoved(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
): Promise<boolean> {
  return (await findConnection(spec, deps)) === undefined;
}

async function acceptOnLeader(
  spec: ConnectionSpec,
  deps: ConnectionDeps,
  connectionId: string,
): Promise<void> {
  // Accepted in the leader's region: the leader owns the inbound side.
  await deps
    .client(spec.leader.region)
    .send(new AcceptInboundConnectionCommand({ ConnectionId: connectionId }));
}

async function putRule(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
  rule: AutoFollowRule,
): Promise<void> {
  const res = await deps.http('POST', AUTOFOLLOW, {
    leader_alias: spec.connectionAlias,
    name: rule.name,
    pattern: rule.pattern,
    use_roles: REPLICATION_ROLES,
  });
  if (!ok(res) && !/already exists/i.test(res.body)) {
    throw new ReplicationError(
      `auto-follow rule ${rule.name} (${rule.pattern}): HTTP ${res.status} ${res.body}`,
    );
  }
}

async function deleteRule(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
  rule: AutoFollowRule,
): Promise<void> {
  const res = await deps.http('DELETE', AUTOFOLLOW, {
    leader_alias: spec.connectionAlias,
    name: rule.name,
  });
  if (!ok(res) && res.status !== 404 && !/does not exist|not found/i.test(res.body)) {
    throw new ReplicationError(
      `deleting auto-follow rule ${rule.name}: HTTP ${res.status} ${res.body}`,
    );
  }
}

function toInfo(d: DomainRef) {
  return { DomainName: d.domainName, OwnerId: d.account, Region: d.region };
}

const ok = (r: HttpResponse) => r.status >= 200 && r.status < 300;
