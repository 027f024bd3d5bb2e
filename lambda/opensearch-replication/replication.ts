/**
 * Cross-cluster replication between two OpenSearch domains, as idempotent steps:
 * outbound connection from the follower → accepted on the leader → auto-follow rules on the
 * follower through `_plugins/_replication`. CloudFormation has no resource for any of this; the
 * custom-resource handler (./index.ts) calls these functions. All I/O is injected.
 */
import {
  AcceptInboundConnectionCommand,
  CreateOutboundConnectionCommand,
  DeleteOutboundConnectionCommand,
  DescribeOutboundConnectionsCommand,
  type OpenSearchClient,
  type OutboundConnection,
} from '@aws-sdk/client-opensearch';

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

export interface ReplicationSpec {
  readonly leader: DomainRef;
  readonly follower: DomainRef;
  /** HTTPS host of the follower domain (its VPC endpoint). */
  readonly followerEndpoint: string;
  readonly connectionAlias: string;
  readonly rules: readonly AutoFollowRule[];
}

export interface HttpResponse {
  readonly status: number;
  readonly body: string;
}

export interface ReplicationDeps {
  /** An OpenSearch API client for a region. */
  readonly client: (region: string) => OpenSearchClient;
  /** A SigV4-signed HTTPS request to the follower domain. */
  readonly http: (method: 'POST' | 'DELETE', path: string, body: unknown) => Promise<HttpResponse>;
  readonly sleep: (ms: number) => Promise<void>;
  /** How often to look for the connection to become ACTIVE. @default 30 */
  readonly polls?: number;
  readonly pollIntervalMs?: number;
}

export class ReplicationError extends Error {
  override readonly name = 'ReplicationError';
}

const GONE = new Set(['DELETED', 'DELETING', 'REJECTED', 'REJECTING']);
const AUTOFOLLOW = '/_plugins/_replication/_autofollow';

/** The live outbound connection of this alias from follower to leader, if any. */
export async function findConnection(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
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

/**
 * Brings replication to the spec: connection created (or reused), accepted, ACTIVE; auto-follow
 * rules present; rules of `previous` that the spec no longer has removed. Safe to repeat.
 */
export async function ensureReplication(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
  previous: readonly AutoFollowRule[] = [],
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

  if (
    connection.ConnectionStatus?.StatusCode === 'PENDING_ACCEPTANCE' ||
    connection.ConnectionStatus?.StatusCode === 'VALIDATING'
  ) {
    await acceptOnLeader(spec, deps, connectionId);
  }
  await waitUntilActive(spec, deps, connectionId);

  for (const rule of spec.rules) {
    const res = await deps.http('POST', AUTOFOLLOW, {
      leader_alias: spec.connectionAlias,
      name: rule.name,
      pattern: rule.pattern,
      use_roles: {
        leader_cluster_role: 'cross_cluster_replication_leader_full_access',
        follower_cluster_role: 'cross_cluster_replication_follower_full_access',
      },
    });
    if (!ok(res) && !/already exists/i.test(res.body)) {
      throw new ReplicationError(
        `auto-follow rule ${rule.name} (${rule.pattern}): HTTP ${res.status} ${res.body}`,
      );
    }
  }
  const keep = new Set(spec.rules.map((r) => r.name));
  for (const rule of previous.filter((r) => !keep.has(r.name))) await deleteRule(spec, deps, rule);
  return { connectionId };
}

/** Removes the rules and the connection; anything already gone is fine. */
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

async function acceptOnLeader(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
  connectionId: string,
): Promise<void> {
  // Accepted in the leader's region: the leader owns the inbound side.
  await deps
    .client(spec.leader.region)
    .send(new AcceptInboundConnectionCommand({ ConnectionId: connectionId }));
}

async function waitUntilActive(
  spec: ReplicationSpec,
  deps: ReplicationDeps,
  connectionId: string,
): Promise<void> {
  const polls = deps.polls ?? 30;
  let last = 'unknown';
  for (let i = 0; i < polls; i++) {
    const c = await findConnection(spec, deps);
    last = c?.ConnectionStatus?.StatusCode ?? 'missing';
    if (last === 'ACTIVE') return;
    if (last === 'missing') break;
    if (last === 'PENDING_ACCEPTANCE') await acceptOnLeader(spec, deps, connectionId);
    await deps.sleep(deps.pollIntervalMs ?? 10_000);
  }
  throw new ReplicationError(
    `connection ${connectionId} (${spec.follower.domainName} → ${spec.leader.domainName}) is ${last}, not ACTIVE`,
  );
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
