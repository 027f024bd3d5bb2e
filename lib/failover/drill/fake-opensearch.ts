/**
 * (Drill and test support: not deployed.)
 * A stateful fake of Amazon OpenSearch Service domains with the cross-cluster replication plugin,
 * answering as they do (lambda/shared/failover/search.ts lists the facts and their sources):
 *
 * - per domain: indices with documents, which of them follow which leader index through which
 *   connection alias and in which state (SYNCING, BOOTSTRAPPING, PAUSED, FAILED), and auto-follow
 *   rules;
 * - the REST API the runbook and the custom resource use (`_plugins/_replication/…` start, stop,
 *   status, follower_stats, autofollow_stats, `_autofollow`; `_cat/indices` (with an index
 *   pattern); documents; `_delete_by_query`, `_count` and `_search` with term/bool queries; index
 *   deletion), with the plugin's own error answers: stop of an index that is not replicating (400
 *   "No replication in progress for index:<i>"), start through a connection that does not exist
 *   or whose leader is down (404 no_such_remote_cluster_exception), start into an existing index
 *   (400 "Cant use same index again for replication"), status of a running follower whose leader
 *   is down (500 "failed to fetch replication status"), a write or delete by query in a follower
 *   (403 cluster block); replication carries a leader's changes only when `replicate()` is called;
 * - the connection API (DescribeOutboundConnections, CreateOutboundConnection,
 *   AcceptInboundConnection, DeleteOutboundConnection) and DescribeDomain, through
 *   aws-sdk-client-mock, each answered only in the domain's own region;
 * - a region down: its domains' endpoints refuse connections or time out (thrown as fetch throws
 *   them), its control plane does not answer, and followers elsewhere cannot reach it.
 *
 * `http(domain)` is the signed request function a step is given; `fetch` is a replacement for
 * the global fetch that routes by host and refuses requests without a SigV4 Authorization header,
 * so lambda/shared/signed-http.ts can be exercised end to end.
 */
import {
  AcceptInboundConnectionCommand,
  CreateOutboundConnectionCommand,
  DeleteOutboundConnectionCommand,
  DescribeDomainCommand,
  DescribeOutboundConnectionsCommand,
  OpenSearchClient,
  ResourceNotFoundException,
} from '@aws-sdk/client-opensearch';
import { mockClient } from 'aws-sdk-client-mock';
import { autoFollowPatternMatches } from '../../../lambda/opensearch-replication/names';
import type { HttpMethod, HttpResponse, SignedHttp } from '../../../lambda/shared/signed-http';

/** How a region that is down fails a request: connection refused, or no answer until the caller's timeout. */
export type Outage = 'refused' | 'timeout';
export type FollowState = 'SYNCING' | 'BOOTSTRAPPING' | 'PAUSED' | 'FAILED';

export interface FakeIndex {
  readonly docs: Map<string, Record<string, unknown>>;
  follow?: { readonly alias: string; readonly leaderIndex: string; state: FollowState };
}

export interface FakeConnection {
  readonly id: string;
  readonly alias: string;
  /** Domain names. */
  readonly follower: string;
  readonly leader: string;
  status: string;
  describes: number;
}

export interface FakeRule {
  readonly alias: string;
  readonly name: string;
  pattern: string;
}

/** OpenSearch's own indices, present on every domain (a caller must leave them alone). */
export const SYSTEM_INDICES = ['.opendistro_security', '.kibana_1', '.replication-metadata-store'];

export class FakeDomain {
  readonly indices = new Map<string, FakeIndex>();
  /** By `<alias>/<name>`. */
  readonly rules = new Map<string, FakeRule>();
  outage: Outage | undefined;

  constructor(
    readonly region: string,
    readonly domainName: string,
    readonly account: string,
    readonly endpoint: string,
  ) {
    for (const name of SYSTEM_INDICES) this.indices.set(name, { docs: new Map() });
  }
}

const ACCEPTED = { acknowledged: true };

export class FakeOpenSearch {
  /** By domain name. */
  readonly domains = new Map<string, FakeDomain>();
  readonly connections = new Map<string, FakeConnection>();
  /** Every REST call: `<domain> <METHOD> <path> <status>` (no query, no body). */
  readonly calls: string[] = [];
  /** DescribeOutboundConnections calls an accepted connection takes to turn ACTIVE. */
  activateAfter = 1;
  private nextConnection = 1;
  private readonly stub = mockClient(OpenSearchClient);

  constructor() {
    this.installSdk();
  }

  addDomain(region: string, domainName: string, account = '111111111111'): FakeDomain {
    const d = new FakeDomain(
      region,
      domainName,
      account,
      `vpc-${domainName}-fake0000.${region}.es.amazonaws.com`,
    );
    this.domains.set(domainName, d);
    return d;
  }

  domain(name: string): FakeDomain {
    const d = this.domains.get(name);
    if (!d) throw new Error(`fake-opensearch: no domain ${name}`);
    return d;
  }

  /** An ACTIVE connection `from-<leader region>` from `follower` to `leader`, as the custom resource leaves it. */
  connect(follower: string, leader: string): FakeConnection {
    const id = `conn-${this.nextConnection++}`;
    const c: FakeConnection = {
      id,
      alias: `from-${this.domain(leader).region}`,
      follower: this.domain(follower).domainName,
      leader: this.domain(leader).domainName,
      status: 'ACTIVE',
      describes: 0,
    };
    this.connections.set(id, c);
    return c;
  }

  /** A regular index with these documents. */
  seed(domain: string, index: string, docs: Record<string, Record<string, unknown>> = {}): void {
    this.domain(domain).indices.set(index, { docs: new Map(Object.entries(docs)) });
  }

  /** `follower`'s copy of `index` follows the leader's through the alias (set up as `_start` leaves it). */
  follow(follower: string, index: string, leaderRegion: string, state: FollowState = 'SYNCING') {
    const alias = `from-${leaderRegion}`;
    const leader = this.leaderOf(this.domain(follower), alias);
    this.domain(follower).indices.set(index, {
      docs: new Map(leader?.indices.get(index)?.docs ?? []),
      follow: { alias, leaderIndex: index, state },
    });
  }

  /** An auto-follow rule, as the custom resource puts it. */
  rule(follower: string, leaderRegion: string, name: string, pattern: string): void {
    const alias = `from-${leaderRegion}`;
    this.domain(follower).rules.set(`${alias}/${name}`, { alias, name, pattern });
  }

  /** Every domain of the region, and its control plane, stop answering. */
  fail(region: string, outage: Outage = 'refused'): void {
    for (const d of this.domains.values()) if (d.region === region) d.outage = outage;
  }

  recover(region: string): void {
    for (const d of this.domains.values()) if (d.region === region) d.outage = undefined;
  }

  /** A follower pulls what its leader holds now (when it can reach it). */
  replicate(): void {
    for (const d of this.domains.values())
      for (const idx of d.indices.values()) {
        if (idx.follow?.state !== 'SYNCING') continue;
        const source = this.leaderOf(d, idx.follow.alias)?.indices.get(idx.follow.leaderIndex);
        if (!source) continue;
        idx.docs.clear();
        for (const [id, doc] of source.docs) idx.docs.set(id, structuredClone(doc));
      }
  }

  /**
   * One pass of every domain's auto-follow task: each leader index a rule matches that is not a
   * system index, not itself a follower and not present on the follower starts following.
   */
  runAutoFollow(): void {
    for (const d of this.domains.values()) {
      if (d.outage) continue;
      for (const rule of d.rules.values()) {
        const leader = this.leaderOf(d, rule.alias);
        if (!leader) continue;
        for (const [name, idx] of leader.indices) {
          if (name.startsWith('.') || idx.follow || d.indices.has(name)) continue;
          if (!autoFollowPatternMatches(rule.pattern, name)) continue;
          d.indices.set(name, {
            docs: new Map([...idx.docs].map(([k, v]) => [k, structuredClone(v)])),
            follow: { alias: rule.alias, leaderIndex: name, state: 'SYNCING' },
          });
        }
      }
    }
  }

  /** The signed request function a step gets for a domain (signing is not checked here). */
  http(domainName: string): SignedHttp {
    const d = this.domain(domainName);
    return async (method, path, body) => {
      this.reach(d);
      return this.handle(d, method, path, body === undefined ? undefined : JSON.stringify(body));
    };
  }

  /** A replacement for global fetch: routes by host, demands a SigV4 Authorization header. */
  readonly fetch: typeof fetch = async (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input));
    const d = [...this.domains.values()].find((x) => x.endpoint === url.hostname);
    if (!d) throw fetchFailed('ENOTFOUND', `getaddrinfo ENOTFOUND ${url.hostname}`);
    this.reach(d);
    const headers = new Headers(init?.headers);
    const auth = headers.get('authorization') ?? '';
    const method = (init?.method ?? 'GET').toUpperCase() as HttpMethod;
    let res: HttpResponse;
    if (!auth.startsWith('AWS4-HMAC-SHA256 Credential='))
      res = {
        status: 403,
        body: JSON.stringify({
          Message: `User: anonymous is not authorized to perform: es:ESHttp${method[0]}${method.slice(1).toLowerCase()} because no resource-based policy allows the es:ESHttp${method[0]}${method.slice(1).toLowerCase()} action`,
        }),
      };
    else if (!auth.includes(`/${d.region}/es/aws4_request`))
      res = {
        status: 403,
        body: JSON.stringify({ message: 'Credential should be scoped to a valid region.' }),
      };
    else
      res = this.handle(
        d,
        method,
        `${url.pathname}${url.search}`,
        typeof init?.body === 'string' ? init.body : undefined,
      );
    return new Response(res.body, {
      status: res.status,
      headers: { 'content-type': 'application/json; charset=UTF-8' },
    });
  };

  restore(): void {
    this.stub.restore();
  }

  // -------------------------------------------------------------------------------------------

  /** A request to a domain that is down fails as fetch fails. */
  private reach(d: FakeDomain): void {
    if (d.outage === 'refused')
      throw fetchFailed('ECONNREFUSED', 'connect ECONNREFUSED 10.0.1.17:443');
    if (d.outage === 'timeout')
      throw new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  }

  /** The leader domain behind an ACTIVE connection of `alias` from `d`, if it is reachable. */
  private leaderOf(d: FakeDomain, alias: string): FakeDomain | undefined {
    const c = [...this.connections.values()].find(
      (x) => x.follower === d.domainName && x.alias === alias && x.status === 'ACTIVE',
    );
    const leader = c ? this.domains.get(c.leader) : undefined;
    return leader && !leader.outage ? leader : undefined;
  }

  private handle(d: FakeDomain, method: HttpMethod, target: string, body?: string): HttpResponse {
    const url = new URL(target, 'https://fake');
    const res = this.route(d, method, decodeURIComponent(url.pathname), url.searchParams, body);
    this.calls.push(`${d.domainName} ${method} ${url.pathname} ${res.status}`);
    return res;
  }

  private route(
    d: FakeDomain,
    method: HttpMethod,
    path: string,
    query: URLSearchParams,
    raw?: string,
  ): HttpResponse {
    let body: Record<string, unknown> = {};
    try {
      body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    } catch {
      return error(400, 'parse_exception', 'request body is required');
    }
    const seg = path.split('/').filter(Boolean);
    const [first = '', second = '', third = '', fourth = ''] = seg;
    if (first === '_plugins' && second === '_replication') {
      const action = `${method} ${seg.length === 3 ? third : `{index}/${fourth}`}`;
      if (seg.length === 3 || seg.length === 4)
        switch (action) {
          case 'GET follower_stats':
            return ok(this.followerStats(d));
          case 'GET autofollow_stats':
            return ok(this.autofollowStats(d));
          case 'POST _autofollow':
            return this.putRule(d, body);
          case 'DELETE _autofollow':
            return this.deleteRule(d, body);
          case 'GET {index}/_status':
            return this.status(d, third);
          case 'POST {index}/_stop':
            return this.stop(d, third);
          case 'PUT {index}/_start':
            return this.start(d, third, body);
        }
    } else if (first === '_cat' && second === 'indices' && seg.length <= 3 && method === 'GET') {
      return this.catIndices(d, query, third || undefined);
    } else if (
      seg.length === 2 &&
      !first.startsWith('_') &&
      method === 'POST' &&
      ['_delete_by_query', '_count', '_search'].includes(second)
    ) {
      return this.byQuery(d, first.split(','), second, body);
    } else if (seg.length === 1 && method === 'DELETE' && !first.startsWith('_')) {
      return this.deleteIndex(d, first);
    } else if (seg.length === 3 && second === '_doc' && !first.startsWith('_')) {
      if (method === 'PUT' || method === 'POST') return this.write(d, first, third, body);
      if (method === 'GET') return this.read(d, first, third);
    }
    return {
      status: 400,
      body: JSON.stringify({ error: `no handler found for uri [${path}] and method [${method}]` }),
    };
  }

  private status(d: FakeDomain, index: string): HttpResponse {
    const f = d.indices.get(index)?.follow;
    if (!f) return ok({ status: 'REPLICATION NOT IN PROGRESS' });
    const ids = { leader_alias: f.alias, leader_index: f.leaderIndex, follower_index: index };
    if (f.state === 'PAUSED' || f.state === 'FAILED')
      return ok({ status: f.state, reason: 'AutoPaused: leader unreachable', ...ids });
    // A running follower's status asks the leader for its checkpoints.
    const leader = this.leaderOf(d, f.alias);
    if (!leader) return error(500, 'replication_exception', 'failed to fetch replication status');
    if (f.state === 'BOOTSTRAPPING')
      return ok({ status: 'BOOTSTRAPPING', reason: 'User initiated', ...ids });
    const n = d.indices.get(index)?.docs.size ?? 0;
    return ok({
      status: 'SYNCING',
      reason: 'User initiated',
      ...ids,
      syncing_details: { leader_checkpoint: n - 1, follower_checkpoint: n - 1, seq_no: n },
    });
  }

  private stop(d: FakeDomain, index: string): HttpResponse {
    const idx = d.indices.get(index);
    if (!idx?.follow)
      return error(
        400,
        'illegal_argument_exception',
        `No replication in progress for index:${index}`,
      );
    // Stopped while restoring, the plugin deletes the follower index.
    if (idx.follow.state === 'BOOTSTRAPPING') d.indices.delete(index);
    else idx.follow = undefined;
    return ok(ACCEPTED);
  }

  private start(d: FakeDomain, index: string, body: Record<string, unknown>): HttpResponse {
    const alias = body.leader_alias;
    const leaderIndex = body.leader_index;
    if (typeof alias !== 'string' || typeof leaderIndex !== 'string')
      return error(
        400,
        'illegal_argument_exception',
        'Mandatory params are missing for the request',
      );
    const roles = body.use_roles as Record<string, unknown> | undefined;
    if (!roles?.leader_cluster_role || !roles.follower_cluster_role)
      return error(403, 'security_exception', 'Follower roles are mandatory for replication');
    const leader = this.leaderOf(d, alias);
    if (!leader)
      return error(404, 'no_such_remote_cluster_exception', `no such remote cluster: [${alias}]`);
    const source = leader.indices.get(leaderIndex);
    if (!source)
      return error(404, 'index_not_found_exception', `no such index [${alias}:${leaderIndex}]`);
    if (source.follow)
      return error(
        400,
        'illegal_argument_exception',
        `Cannot Replicate a Replicated Index ${leaderIndex}`,
      );
    if (d.indices.has(index))
      return error(
        400,
        'illegal_argument_exception',
        `Cant use same index again for replication. Delete the index:${index}`,
      );
    d.indices.set(index, {
      docs: new Map([...source.docs].map(([k, v]) => [k, structuredClone(v)])),
      follow: { alias, leaderIndex, state: 'SYNCING' },
    });
    return ok(ACCEPTED);
  }

  private followerStats(d: FakeDomain) {
    const follows = [...d.indices].filter(([, i]) => i.follow);
    const count = (s: FollowState) => follows.filter(([, i]) => i.follow?.state === s).length;
    const zero = {
      operations_written: 0,
      operations_read: 0,
      failed_read_requests: 0,
      throttled_read_requests: 0,
      failed_write_requests: 0,
      throttled_write_requests: 0,
      follower_checkpoint: 0,
      leader_checkpoint: 0,
      total_write_time_millis: 0,
    };
    const running = count('SYNCING') + count('BOOTSTRAPPING');
    return {
      num_syncing_indices: count('SYNCING'),
      num_bootstrapping_indices: count('BOOTSTRAPPING'),
      num_paused_indices: count('PAUSED'),
      num_failed_indices: count('FAILED'),
      num_shard_tasks: count('SYNCING'),
      num_index_tasks: running,
      ...zero,
      // Filled from shard tasks: syncing indices only.
      index_stats: Object.fromEntries(
        follows.filter(([, i]) => i.follow?.state === 'SYNCING').map(([n]) => [n, { ...zero }]),
      ),
    };
  }

  private autofollowStats(d: FakeDomain) {
    const counters = {
      num_success_start_replication: 0,
      num_failed_start_replication: 0,
      num_failed_leader_calls: 0,
      failed_indices: [],
    };
    return {
      ...counters,
      autofollow_stats: [...d.rules.values()].map((r) => ({
        name: r.name,
        pattern: r.pattern,
        ...counters,
      })),
    };
  }

  private putRule(d: FakeDomain, body: Record<string, unknown>): HttpResponse {
    const { leader_alias: alias, name, pattern } = body;
    if (typeof alias !== 'string' || typeof name !== 'string' || typeof pattern !== 'string')
      return error(
        400,
        'illegal_argument_exception',
        'Mandatory params are missing for the request',
      );
    if (!this.leaderOf(d, alias))
      return error(404, 'no_such_remote_cluster_exception', `no such remote cluster: [${alias}]`);
    // Creating an existing rule updates it.
    d.rules.set(`${alias}/${name}`, { alias, name, pattern });
    return ok(ACCEPTED);
  }

  private deleteRule(d: FakeDomain, body: Record<string, unknown>): HttpResponse {
    const key = `${body.leader_alias}/${body.name}`;
    if (!d.rules.delete(key))
      return error(404, 'resource_not_found_exception', `Metadata for ${body.name} doesn't exist`);
    return ok(ACCEPTED);
  }

  /**
   * `_delete_by_query`, `_count` and `_search` over named indices, with the queries Meridian sends
   * (`term`, `bool` with `filter`/`must`/`should`, `match_all`; anything else is a 400 as
   * OpenSearch answers an unknown query). A missing index is a 404; deleting in a follower is the
   * replication block (403), as a write is.
   */
  private byQuery(
    d: FakeDomain,
    names: readonly string[],
    op: string,
    body: Record<string, unknown>,
  ): HttpResponse {
    const indices: [string, FakeIndex][] = [];
    for (const name of names) {
      const idx = d.indices.get(name);
      if (!idx) return error(404, 'index_not_found_exception', `no such index [${name}]`);
      if (op === '_delete_by_query' && idx.follow) return blocked(name);
      indices.push([name, idx]);
    }
    let hits: { index: string; id: string; doc: Record<string, unknown> }[];
    try {
      const q = (body.query ?? { match_all: {} }) as Query;
      hits = indices.flatMap(([index, idx]) =>
        [...idx.docs].filter(([, doc]) => matches(q, doc)).map(([id, doc]) => ({ index, id, doc })),
      );
    } catch (err) {
      return error(400, 'parsing_exception', (err as Error).message);
    }
    if (op === '_count') return ok({ count: hits.length });
    if (op === '_search')
      return ok({
        hits: {
          total: { value: hits.length, relation: 'eq' },
          hits: hits
            .slice(0, Number(body.size ?? 10))
            .map((h) => ({ _index: h.index, _id: h.id, _source: h.doc })),
        },
      });
    for (const h of hits) d.indices.get(h.index)?.docs.delete(h.id);
    return ok({ deleted: hits.length, total: hits.length, failures: [], version_conflicts: 0 });
  }

  private catIndices(d: FakeDomain, query: URLSearchParams, pattern?: string): HttpResponse {
    const listed = [...d.indices].filter(
      ([index]) => !pattern || autoFollowPatternMatches(pattern, index),
    );
    const rows = listed.map(([index, i]) => ({
      health: 'green',
      status: 'open',
      index,
      pri: '1',
      rep: '1',
      'docs.count': String(i.docs.size),
    }));
    const columns = query.get('h')?.split(',');
    const shown = columns
      ? rows.map((r) =>
          Object.fromEntries(columns.map((c) => [c, (r as Record<string, string>)[c]])),
        )
      : rows;
    if (query.get('format') === 'json') return ok(shown);
    return { status: 200, body: shown.map((r) => Object.values(r).join(' ')).join('\n') };
  }

  private deleteIndex(d: FakeDomain, index: string): HttpResponse {
    const idx = d.indices.get(index);
    if (!idx) return error(404, 'index_not_found_exception', `no such index [${index}]`);
    if (idx.follow && idx.follow.state !== 'BOOTSTRAPPING') return blocked(index);
    d.indices.delete(index);
    return ok(ACCEPTED);
  }

  private write(
    d: FakeDomain,
    index: string,
    id: string,
    doc: Record<string, unknown>,
  ): HttpResponse {
    let idx = d.indices.get(index);
    if (idx?.follow) return blocked(index);
    if (!idx) {
      idx = { docs: new Map() };
      d.indices.set(index, idx);
    }
    const created = !idx.docs.has(id);
    idx.docs.set(id, structuredClone(doc));
    return {
      status: created ? 201 : 200,
      body: JSON.stringify({ _index: index, _id: id, result: created ? 'created' : 'updated' }),
    };
  }

  private read(d: FakeDomain, index: string, id: string): HttpResponse {
    const idx = d.indices.get(index);
    if (!idx) return error(404, 'index_not_found_exception', `no such index [${index}]`);
    const doc = idx.docs.get(id);
    return doc
      ? ok({ _index: index, _id: id, found: true, _source: doc })
      : { status: 404, body: JSON.stringify({ _index: index, _id: id, found: false }) };
  }

  private installSdk(): void {
    const regionOf = async (getClient: () => OpenSearchClient) => {
      const region = await getClient().config.region();
      const down = [...this.domains.values()].some((x) => x.region === region && x.outage);
      if (down)
        throw Object.assign(new Error(`connect ETIMEDOUT es.${region}.amazonaws.com:443`), {
          name: 'TimeoutError',
          code: 'ETIMEDOUT',
          $metadata: {},
        });
      return region;
    };
    const notFound = (message: string) =>
      new ResourceNotFoundException({ message, $metadata: { httpStatusCode: 409 } });
    const s = this.stub as unknown as {
      on(c: unknown): {
        callsFake(f: (input: never, getClient: () => OpenSearchClient) => unknown): void;
      };
    };
    s.on(DescribeDomainCommand).callsFake(async (input: { DomainName: string }, getClient) => {
      const region = await regionOf(getClient);
      const d = this.domains.get(input.DomainName);
      if (!d || d.region !== region) throw notFound(`Domain not found: ${input.DomainName}`);
      return {
        DomainStatus: {
          DomainId: `${d.account}/${d.domainName}`,
          DomainName: d.domainName,
          ARN: `arn:aws:es:${d.region}:${d.account}:domain/${d.domainName}`,
          Created: true,
          Deleted: false,
          Processing: false,
          EngineVersion: 'OpenSearch_2.19',
          Endpoints: { vpc: d.endpoint },
        },
      };
    });
    s.on(DescribeOutboundConnectionsCommand).callsFake(
      async (input: { Filters?: { Name: string; Values: string[] }[] }, getClient) => {
        const region = await regionOf(getClient);
        const names = input.Filters?.find(
          (f) => f.Name === 'local-domain-info.domain-name',
        )?.Values;
        const connections = [...this.connections.values()].filter(
          (c) =>
            this.domains.get(c.follower)?.region === region &&
            (!names || names.includes(c.follower)),
        );
        for (const c of connections)
          if (c.status === 'PROVISIONING' && ++c.describes >= this.activateAfter)
            c.status = 'ACTIVE';
        return {
          Connections: connections.map((c) => ({
            ConnectionId: c.id,
            ConnectionAlias: c.alias,
            ConnectionMode: 'DIRECT',
            LocalDomainInfo: { AWSDomainInformation: this.info(c.follower) },
            RemoteDomainInfo: { AWSDomainInformation: this.info(c.leader) },
            ConnectionStatus: { StatusCode: c.status },
          })),
        };
      },
    );
    s.on(CreateOutboundConnectionCommand).callsFake(
      async (
        input: {
          ConnectionAlias: string;
          LocalDomainInfo: { AWSDomainInformation: { DomainName: string } };
          RemoteDomainInfo: { AWSDomainInformation: { DomainName: string } };
        },
        getClient,
      ) => {
        const region = await regionOf(getClient);
        const local = this.domains.get(input.LocalDomainInfo.AWSDomainInformation.DomainName);
        const remote = this.domains.get(input.RemoteDomainInfo.AWSDomainInformation.DomainName);
        if (!local || local.region !== region || !remote)
          throw notFound('Domain not found for the connection');
        const id = `conn-${this.nextConnection++}`;
        this.connections.set(id, {
          id,
          alias: input.ConnectionAlias,
          follower: local.domainName,
          leader: remote.domainName,
          status: 'PENDING_ACCEPTANCE',
          describes: 0,
        });
        return {
          ConnectionId: id,
          ConnectionAlias: input.ConnectionAlias,
          ConnectionStatus: { StatusCode: 'PENDING_ACCEPTANCE' },
        };
      },
    );
    s.on(AcceptInboundConnectionCommand).callsFake(
      async (input: { ConnectionId: string }, getClient) => {
        const region = await regionOf(getClient);
        const c = this.connections.get(input.ConnectionId);
        // The inbound side lives in the leader's region only.
        if (!c || this.domains.get(c.leader)?.region !== region)
          throw notFound(`Connection not found: ${input.ConnectionId}`);
        if (c.status === 'PENDING_ACCEPTANCE') c.status = 'PROVISIONING';
        return { Connection: { ConnectionId: c.id, ConnectionStatus: { StatusCode: c.status } } };
      },
    );
    s.on(DeleteOutboundConnectionCommand).callsFake(
      async (input: { ConnectionId: string }, getClient) => {
        await regionOf(getClient);
        const c = this.connections.get(input.ConnectionId);
        if (!c) throw notFound(`Connection not found: ${input.ConnectionId}`);
        c.status = 'DELETED';
        return { Connection: { ConnectionId: c.id, ConnectionStatus: { StatusCode: c.status } } };
      },
    );
  }

  private info(domainName: string) {
    const d = this.domain(domainName);
    return { DomainName: d.domainName, OwnerId: d.account, Region: d.region };
  }
}

const ok = (body: unknown): HttpResponse => ({ status: 200, body: JSON.stringify(body) });

type Query = Record<string, unknown>;

/** Whether a document matches a query of the shapes {@link FakeOpenSearch} byQuery takes. */
function matches(q: Query, doc: Record<string, unknown>): boolean {
  const [kind, arg] = Object.entries(q)[0] ?? [];
  if (kind === 'match_all') return true;
  if (kind === 'term') {
    const [field, value] = Object.entries(arg as Record<string, unknown>)[0] ?? [];
    const v = (value as { value?: unknown })?.value ?? value;
    return doc[field as string] === v;
  }
  if (kind === 'bool') {
    const b = arg as Record<string, Query[] | number | undefined>;
    const all = [...((b.filter as Query[]) ?? []), ...((b.must as Query[]) ?? [])];
    const should = (b.should as Query[]) ?? [];
    const min = Number(b.minimum_should_match ?? (all.length > 0 ? 0 : 1));
    return (
      all.every((x) => matches(x, doc)) &&
      (should.length === 0 || should.filter((x) => matches(x, doc)).length >= min)
    );
  }
  throw new Error(`unknown query [${kind}]`);
}

/** OpenSearch's error answer. */
function error(status: number, type: string, reason: string): HttpResponse {
  return {
    status,
    body: JSON.stringify({ error: { root_cause: [{ type, reason }], type, reason }, status }),
  };
}

/** A write (or delete) refused by the follower index's replication block. */
function blocked(index: string): HttpResponse {
  return error(
    403,
    'cluster_block_exception',
    `index [${index}] blocked by: [FORBIDDEN/1000/index read-only(cross-cluster-replication)];`,
  );
}

/** What undici's fetch throws when the peer does not answer. */
function fetchFailed(code: string, message: string): TypeError {
  return new TypeError('fetch failed', { cause: Object.assign(new Error(message), { code }) });
}
