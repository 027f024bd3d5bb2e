/**
 * The drill's world: stateful fakes of every service the runbook touches, modelling regions (up or
 * down, writer reachable, replication lag), Route 53 health checks and record sets, the Aurora
 * global cluster, the cache Global Datastore, critical alarms, the lock table, the audit bucket,
 * the Cloudflare pools and the regional health endpoints. SDK calls are answered through
 * aws-sdk-client-mock; HTTP through a replaced `fetch`. Dev and test support: never deployed.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import {
  DescribeGlobalReplicationGroupsCommand,
  ElastiCacheClient,
  FailoverGlobalReplicationGroupCommand,
} from '@aws-sdk/client-elasticache';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import {
  DescribeGlobalClustersCommand,
  FailoverGlobalClusterCommand,
  RDSClient,
  SwitchoverGlobalClusterCommand,
} from '@aws-sdk/client-rds';
import {
  ChangeResourceRecordSetsCommand,
  GetHealthCheckStatusCommand,
  ListHealthChecksCommand,
  ListResourceRecordSetsCommand,
  ListTagsForResourcesCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { mockClient } from 'aws-sdk-client-mock';
import {
  buildReport,
  type CheckResult,
  FENCE_CHECK,
  LAG_CHECK,
  renderReport,
} from '../../../lambda/health/report';
import { namesOf, type RunbookConfig } from '../../../lambda/shared/failover/config';
import { tally, VOTE } from '../../../lambda/shared/failover/votes';
import { DETECTION } from '../../../lambda/shared/failover/watch';
import { type KeeperMemory, planRound } from '../../../lambda/shared/failover/writer-keeper';
import {
  leaseOf,
  type Renewal,
  renewInput,
  WRITER_LEASE,
} from '../../../lambda/shared/failover/writer-lease';
import { lockEndpointsFor } from '../lock-plan';
import { drillContext } from './context';
import { FakeDynamoDb, unreachable } from './fake-dynamodb';
import { FakeOpenSearch } from './fake-opensearch';
import { TIMINGS } from './timings';

/** The Cloudflare token the drill's Secrets Manager holds and its Cloudflare accepts. */
const DRILL_TOKEN = 'drill-cloudflare-token';

export interface RegionModel {
  /** The health endpoint answers. */
  up: boolean;
  /** Its Aurora writer (or, on a secondary, its readers) answers. */
  writer: boolean;
  /** Replication lag into it (s), when it is a secondary. */
  lagSeconds?: number;
  /** Critical alarms firing in it. */
  alarms: string[];
}

export interface DrillWorldOptions {
  /**
   * Whether each cell region runs its writer keeper (the lease and the self-fence,
   * lambda/shared/failover/writer-keeper.ts). Off only to show what the self-fence prevents.
   * @default true
   */
  readonly selfFence?: boolean;
  /**
   * The cell regions' endpoint health checks as their templates set them. With them the world
   * models the cell's clients: each region's users resolve `<cell>.<zone>` through Route 53
   * (latency records, health checks, record changes visible after propagation) and cache the
   * answer for its TTL; a write is accepted when the region they reach accepts it.
   * @default - no clients: writes are accepted where the database takes them
   */
  readonly routing?: { readonly intervalSeconds: number; readonly failureThreshold: number };
}

/**
 * The error each throttled API answers with: Route 53, code `Throttling`, message `Rate exceeded`
 * (Route 53 Developer Guide, Throttling for Amazon Route 53 API requests); RDS,
 * `ThrottlingException`, `Rate exceeded` (RDS User Guide, Request throttling for the Amazon RDS API).
 */
export const THROTTLING = { route53: 'Throttling', rds: 'ThrottlingException' } as const;

/** A managed operation in flight: it completes at `doneAt` on the world's clock. */
interface InFlight {
  readonly to: string;
  readonly doneAt: number;
  readonly kind: 'failover' | 'switchover';
}

/**
 * The drill's world. Its clock is virtual: it moves only by modelled durations (a step's Lambda
 * time, a retry's backoff, a managed operation's AWS duration from timings.ts), so timings the
 * drill reports are AWS's, not this machine's.
 */
export class DrillWorld {
  readonly regions = new Map<string, RegionModel>();
  /** Regions wholly down: endpoint, data plane and control plane. */
  readonly down = new Set<string>();
  /** Pairs of region groups that cannot reach each other. */
  readonly partitions: [ReadonlySet<string>, ReadonlySet<string>][] = [];
  readonly records = new Map<string, ResourceRecordSet>();
  readonly pools = new Map<string, { name: string; enabled: boolean }>();
  readonly objects = new Map<string, string>();
  readonly notifications: { subject?: string; message: unknown }[] = [];
  /** Every mutating call, in order: what the drill prints and tests count. */
  readonly calls: string[] = [];
  readonly ddb: FakeDynamoDb;
  /** The cell's search domains, replicating as the custom resource leaves them. */
  readonly search = new FakeOpenSearch();
  writer: string;
  cachePrimary: string;
  private aurora?: InFlight;
  private cache?: InFlight;
  /** The virtual clock (epoch ms). */
  private t: number;
  private readonly stubs: { restore(): void }[] = [];
  private readonly realFetch = globalThis.fetch;

  constructor(
    readonly config: RunbookConfig,
    readonly options: DrillWorldOptions = {},
  ) {
    this.t = this.realNow();
    this.startedAt = this.t;
    const cell = config.cell;
    const plan = config.lock;
    this.ddb = new FakeDynamoDb({
      members: [...plan.replicas, ...(plan.witness ? [plan.witness] : [])],
      consistency: plan.consistency,
      reachable: (from, to) => this.reachable(from, to),
      caller: () => drillContext.getStore()?.region ?? config.region,
    });
    this.byPriority = [...cell.regions]
      .sort((a, b) => a.failoverPriority - b.failoverPriority)
      .map((r) => r.id);
    this.writer = this.byPriority[0] ?? config.region;
    this.initialWriter = this.writer;
    this.cachePrimary = this.writer;
    for (const r of cell.regions) {
      this.regions.set(r.id, {
        up: true,
        writer: true,
        lagSeconds: r.id === this.writer ? undefined : TIMINGS.auroraReplicationLag.ms / 1000,
        alarms: [],
      });
      for (const name of [
        `${config.apiName}.${config.zoneName}.`,
        `${cell.jurisdiction}.${config.zoneName}.`,
      ])
        this.records.set(`${name}|${r.id}`, {
          Name: name,
          Type: 'CNAME',
          SetIdentifier: r.id,
          Region: r.id as never,
          TTL: config.ttlSeconds,
          ResourceRecords: [{ Value: `${r.id}.${config.zoneName}` }],
        });
      this.pools.set(`pool-${r.id}`, { name: namesOf(config, r.id).pool, enabled: true });
    }
    this.seedSearch();
    this.install();
  }

  /**
   * Every cell domain follows every other through `from-<leader>` (both directions, as the custom
   * resource connects a cell), one auto-follow rule `pii-*` per leader; the writer's `pii-2024`
   * index is followed everywhere else.
   */
  private seedSearch(): void {
    const domains = this.config.search?.domains ?? {};
    for (const [region, name] of Object.entries(domains))
      this.search.addDomain(region, name, this.config.account);
    for (const [follower, fd] of Object.entries(domains))
      for (const [leader, ld] of Object.entries(domains)) {
        if (follower === leader) continue;
        this.search.connect(fd, ld);
        this.search.rule(fd, leader, `${leader}-pii`, 'pii-*');
      }
    const writerDomain = domains[this.writer];
    if (writerDomain) this.search.seed(writerDomain, 'pii-2024', { '1': { ref: 'drill' } });
    this.search.runAutoFollow();
  }

  /** When the world began (the watchers' rounds count from it). */
  private readonly startedAt: number;

  /** The virtual time (epoch ms). */
  now(): number {
    return this.t;
  }

  /** Moves the clock on by a modelled duration, sampling who accepts writes on the way. */
  advance(ms: number): void {
    this.sample();
    const until = this.t + ms;
    // A second at a time: what the database and the clients do is sampled at least that often.
    while (this.t < until) {
      this.t = Math.min(until, this.t + DrillWorld.SAMPLE_MS);
      this.watchUntil(this.t);
      this.keepUntil(this.t);
      this.settle();
      this.sample();
    }
  }

  /** The longest the world goes without sampling who accepts writes. */
  static readonly SAMPLE_MS = 1000;

  /**
   * When each watcher's next round is due, by `watched|watcher`. Watch functions start once a minute
   * wherever EventBridge runs them, so their rounds are out of phase: the k-th of n watchers of a
   * region runs k/n of a period after the first (evenly spread, so a majority forms as late as it
   * plausibly could, never all in the same instant).
   */
  private readonly nextRounds = new Map<string, number>();

  private watchUntil(until: number): void {
    const period = DETECTION.probeSeconds * 1000;
    for (const [p, watchers] of Object.entries(this.config.watchers ?? {}))
      watchers.forEach((w, k) => {
        const id = `${p}|${w}`;
        let due = this.nextRounds.get(id) ?? this.startedAt + (k * period) / watchers.length;
        for (; due <= until; due += period) this.watchRound(p, w, due);
        this.nextRounds.set(id, due);
      });
  }

  /**
   * One round of `watcher`'s watch function about `p`: unless the watcher is down, it sees `p` down
   * when its service does not answer or cannot be reached from the watcher, and writes its vote
   * (lambda/shared/failover/votes.ts castVote: the streak grows while the previous vote is fresh)
   * into the lock table through the first of its endpoints that gives it a consistent answer. A
   * watcher that reaches no endpoint casts nothing; its old vote goes stale and is not counted.
   */
  private watchRound(p: string, w: string, at: number): void {
    if (this.down.has(w)) return;
    if (!lockEndpointsFor(this.config.lock, w).some((e) => this.ddb.serves(w, e))) return;
    const table = this.ddb.table(this.config.lockTable);
    // A fenced writer's endpoint answers 503: its watchers see it down, as Route 53 does.
    const sawDown = !this.region(p).up || this.signedFenced.has(p) || !this.reachable(w, p);
    const key = { pk: { S: `vote#${p}#${w}` } };
    const previous = table.get(JSON.stringify(key));
    const previousAt = Number(previous?.at?.N);
    const carried =
      Number.isFinite(previousAt) && at - previousAt <= VOTE.freshMs
        ? Number(previous?.streak?.N)
        : 0;
    table.set(JSON.stringify(key), {
      ...key,
      at: { N: String(at) },
      streak: { N: String(sawDown ? carried + 1 : 0) },
    });
    // Then the count it publishes (WatchersDown): every watcher's vote, as votes.ts tallies them.
    const id = `${p}|${w}`;
    this.watchersDown.set(id, [
      ...(this.watchersDown.get(id) ?? []),
      { at, value: this.tallyOf(p, at).down.length },
    ]);
  }

  /** The watchers' votes about `p` in the lock table, counted at `at` (votes.ts tally). */
  private tallyOf(p: string, at: number) {
    const watchers = this.config.watchers?.[p] ?? [];
    const table = this.ddb.table(this.config.lockTable);
    const votes = watchers.flatMap((v) => {
      const item = table.get(JSON.stringify({ pk: { S: `vote#${p}#${v}` } }));
      return item ? [{ watcher: v, at: Number(item.at?.N), streak: Number(item.streak?.N) }] : [];
    });
    return tally(watchers, votes, at);
  }

  /** The WatchersDown datapoints each watcher published, by `watched|watcher`, in time order. */
  readonly watchersDown = new Map<string, { readonly at: number; readonly value: number }[]>();

  /** The cell's regions in failover-priority order (the writer of regions/ first). */
  private readonly byPriority: readonly string[];
  /** The region that was the cell's writer when the world began: it creates the writer lease. */
  private readonly initialWriter: string;
  /** Each cell region's keeper: what it remembers, and when its next round is due. */
  private readonly keepers = new Map<string, { memory: KeeperMemory; next: number }>();
  /** Databases whose catalog says new sessions are read-only (db-fence.ts). */
  readonly dbFenced = new Set<string>();
  /**
   * The functions deployed in a region that other regions invoke by name (their templates' named
   * functions, bound to their handlers: run.ts namedFunctions). Set by whoever runs the drill.
   */
  functionsIn?: (region: string) => ReadonlyMap<string, (payload: unknown) => Promise<unknown>>;

  /** When each region's keeper first fenced its own database. */
  readonly fencedAt = new Map<string, number>();
  /** Regions whose health sign says "fenced" (their endpoint answers 503). */
  readonly signedFenced = new Set<string>();

  /**
   * Every cell region's keeper runs a round every WRITER_LEASE.renewSeconds (its k-th of n
   * regions k/n of a period after the first, out of phase with the others), unless the region is
   * down or the self-fence is off.
   */
  private keepUntil(until: number): void {
    if (this.options.selfFence === false) return;
    const period = WRITER_LEASE.renewSeconds * 1000;
    const ids = this.config.cell.regions.map((r) => r.id);
    ids.forEach((r, k) => {
      const keeper = this.keepers.get(r) ?? {
        memory: {},
        next: this.startedAt + (k * period) / ids.length,
      };
      for (; keeper.next <= until; keeper.next += period)
        this.keeperRound(r, keeper.memory, keeper.next);
      this.keepers.set(r, keeper);
    });
  }

  /**
   * One keeper round in `r` (writer-keeper.ts planRound, executed here): the renewal is the
   * keeper's own conditional write, applied by the fake table through the first lock endpoint
   * that gives `r` a consistent answer; the database answers when `r`'s Aurora does, as a
   * replica unless `r` believes it is the writer. Fencing writes the catalog, which Aurora
   * replicates to every cell region the writer reaches.
   */
  private keeperRound(r: string, memory: KeeperMemory, at: number): void {
    if (this.down.has(r)) return;
    const state = this.region(r).writer
      ? { replica: !this.believesWriter(r), fenced: this.dbFenced.has(r) }
      : undefined;
    const plan = planRound(at, this.renewFrom(r, at), state, memory);
    if (plan.sign) {
      if (plan.sign === 'fenced') this.signedFenced.add(r);
      else this.signedFenced.delete(r);
      memory.sign = plan.sign;
    }
    if (plan.db === 'fence' && !this.fencedAt.has(r)) this.fencedAt.set(r, at);
    if (plan.db)
      for (const x of this.byPriority)
        if (x === r || this.reachable(r, x)) {
          if (plan.db === 'fence') this.dbFenced.add(x);
          else this.dbFenced.delete(x);
        }
  }

  /** The keeper's renewal from `r`: undefined when no lock endpoint answers it consistently. */
  private renewFrom(r: string, at: number): Renewal | undefined {
    const ref = { table: this.config.lockTable, cell: this.config.cell.jurisdiction };
    const input = renewInput(ref, r, { now: at, initial: r === this.initialWriter });
    if (!lockEndpointsFor(this.config.lock, r).some((e) => this.ddb.serves(r, e))) return undefined;
    try {
      const lease = leaseOf(this.ddb.update(input) as never);
      return lease ? { held: true, lease } : undefined;
    } catch (err) {
      if ((err as Error).name !== 'ConditionalCheckFailedException') throw err;
      const holder = leaseOf(this.ddb.table(ref.table).get(JSON.stringify(input.Key)) as never);
      return { held: false, ...(holder ? { holder } : {}) };
    }
  }

  /**
   * Whether `r`'s Aurora cluster takes writes: it is the writer, or it was and is cut off from the
   * new one (an isolated old primary is demoted only when it reconnects).
   */
  private believesWriter(r: string): boolean {
    return r === this.writer || (r === this.previousWriter && !this.reachable(r, this.writer));
  }

  /** When each region became the Aurora writer (epoch ms on the virtual clock). */
  readonly writerSince = new Map<string, number>();
  /**
   * Changes made by a drilled step whose execution did not hold the cell lock with a live lease at
   * that instant (read from the lock item itself): each one an action without a valid token.
   */
  actionsWithoutToken = 0;

  /** Records a change the world made for a step, and checks the step's execution held the lock. */
  private act(what?: string): void {
    if (what !== undefined) this.calls.push(what);
    const execution = drillContext.getStore()?.execution;
    if (execution === undefined) return;
    const lock = this.ddb
      .table(this.config.lockTable)
      .get(JSON.stringify({ pk: { S: `lock#${this.config.cell.jurisdiction}` } }));
    if (lock?.owner?.S !== execution || Number(lock?.expiresAt?.N) < this.t)
      this.actionsWithoutToken += 1;
  }

  /** Modelled instants at which two regions of the cell accepted writes at once. */
  splitBrain = 0;
  private previousWriter?: string;

  /**
   * The regions that accept writes now, as the database decides: the region is up, its Aurora
   * cluster takes writes (believesWriter), and its catalog does not make sessions read-only (the
   * keeper's fence). Never the region-state record: the write path does not read it.
   */
  acceptingWrites(): string[] {
    return this.config.cell.regions
      .map((r) => r.id)
      .filter(
        (r) =>
          !this.down.has(r) && this.region(r).up && this.believesWriter(r) && !this.dbFenced.has(r),
      );
  }

  /**
   * Record changes as Route 53's authoritative servers serve them: each visible once propagated
   * (TIMINGS.route53Propagation, the published "generally within 60 seconds", at its slow end).
   */
  private readonly served: { key: string; value?: string; visibleAt: number }[] = [];
  /** Since when Route 53's checkers have seen each region's endpoint fail (503, no answer). */
  private readonly failingSince = new Map<string, number>();
  /** Per region's clients, where their writes went, on each change: the region, or none. */
  private readonly clientLog = new Map<string, { at: number; writesTo?: string }[]>();

  /** What `<name>` answers for the record of `region` at `at` (propagated changes only). */
  private servedValue(name: string, region: string, at: number): string | undefined {
    const key = `${name}|${region}`;
    const changes = this.served.filter((c) => c.key === key && c.visibleAt <= at);
    return changes.at(-1)?.value ?? `${region}.${this.config.zoneName}`;
  }

  /**
   * Where the users nearest `region` send requests at `at`: they resolved `<cell>.<zone>` at the
   * last TTL boundary; Route 53 answered with the nearest region (their own, then the cell's others
   * by failover priority) whose health check passes (failing for interval × threshold), or, when
   * none passes, as if all did (Route 53's documented fail-open); the answer names a regional host.
   */
  clientRegion(region: string, at: number): string {
    const hc = this.options.routing;
    const ttl = this.config.ttlSeconds * 1000;
    const resolvedAt = this.startedAt + Math.floor((at - this.startedAt) / ttl) * ttl;
    const judged = (r: string) => {
      const since = this.failingSince.get(r);
      return (
        !hc ||
        since === undefined ||
        resolvedAt - since < hc.intervalSeconds * hc.failureThreshold * 1000
      );
    };
    const order = [region, ...this.byPriority.filter((r) => r !== region)];
    const chosen = order.find(judged) ?? region;
    const name = `${this.config.cell.jurisdiction}.${this.config.zoneName}.`;
    const host = this.servedValue(name, chosen, resolvedAt) ?? '';
    return host.split('.')[0] ?? chosen;
  }

  private sampleClients(accepting: readonly string[]): void {
    if (!this.options.routing) return;
    for (const { id } of this.config.cell.regions) {
      const failing = this.down.has(id) || !this.region(id).up || this.signedFenced.has(id);
      if (failing && !this.failingSince.has(id)) this.failingSince.set(id, this.t);
      if (!failing) this.failingSince.delete(id);
    }
    for (const { id } of this.config.cell.regions) {
      const to = this.clientRegion(id, this.t);
      const writesTo = accepting.includes(to) && !this.down.has(to) ? to : undefined;
      const log = this.clientLog.get(id) ?? [];
      if (log.length === 0 || log.at(-1)?.writesTo !== writesTo) log.push({ at: this.t, writesTo });
      this.clientLog.set(id, log);
    }
  }

  /**
   * When the users nearest `region` could write again after `since` (their writes failing at some
   * instant after it): the first sampled instant their requests reached a region accepting writes,
   * and which. Undefined when clients are not modelled or their writes never failed or never
   * came back.
   */
  clientsWriteAgain(region: string, since: number): { at: number; to: string } | undefined {
    const log = (this.clientLog.get(region) ?? []).filter((e) => e.at >= since);
    const broken = log.findIndex((e) => e.writesTo === undefined);
    if (broken < 0) return undefined;
    const back = log.slice(broken).find((e) => e.writesTo !== undefined);
    return back?.writesTo ? { at: back.at, to: back.writesTo } : undefined;
  }

  /** The seeds' average write rate (10,000 operations a minute): the stream into the writer. */
  static readonly WRITES_PER_SECOND = 10_000 / 60;
  /** The last instant each region accepted a write of the stream. */
  private readonly lastAccepted = new Map<string, number>();
  /** Up to which instant of the stream each region has the writer's writes (replication lag). */
  private readonly replicatedUpTo = new Map<string, number>();
  /**
   * What the stream lost at each promotion, in order: the writes the old writer accepted that the
   * new one never received (the RPO, from the stream rather than from the runbook's estimate).
   */
  readonly losses: { readonly to: string; readonly seconds: number; readonly writes: number }[] =
    [];

  private sample(): void {
    const accepting = this.acceptingWrites();
    if (accepting.length > 1) this.splitBrain += 1;
    this.sampleClients(accepting);
    for (const r of accepting) this.lastAccepted.set(r, this.t);
    // The writer's stream reaches every cell region it can reach, lagging by that region's lag.
    const from = this.lastAccepted.get(this.writer);
    if (from === undefined) return;
    for (const { id } of this.config.cell.regions)
      if (id !== this.writer && this.reachable(this.writer, id))
        this.replicatedUpTo.set(
          id,
          Math.max(
            this.replicatedUpTo.get(id) ?? 0,
            from - (this.region(id).lagSeconds ?? 0) * 1000,
          ),
        );
  }

  /**
   * A region goes down, by default wholly: its endpoint, data plane and control plane stop answering, the
   * Route 53 checkers see it fail, and the region that watches it raises its critical alarm.
   */
  fail(region: string, how: { readonly wholly?: boolean } = {}): void {
    // Rounds due at this instant probed before the failure; the writer accepted writes up to it.
    this.watchUntil(this.t);
    this.sample();
    const r = this.region(region);
    r.up = false;
    r.writer = false;
    // wholly: false is an outage of Meridian's own service in a region whose AWS services live.
    if (how.wholly ?? true) {
      this.down.add(region);
      this.search.fail(region, 'timeout');
    }
    r.alarms = [`${this.config.prefix}-${region}-critical-endpoint`];
  }

  /**
   * Runs the clock on, watch round by watch round (any watcher's), until a majority of `region`'s
   * watchers have voted it down (as the majority alarm and Verify count them), at most `maxRounds`
   * rounds; returns the milliseconds that took, or undefined when no majority formed (the region
   * stays "up" for everyone but its minority of watchers).
   */
  untilWatchersSeeDown(region: string, maxRounds = 30): number | undefined {
    const start = this.t;
    for (let i = 0; i <= maxRounds; i++) {
      if (this.tallyOf(region, this.t).verdict === 'down') return this.t - start;
      if (i < maxRounds) this.advance(this.nextDueRound() - this.t);
    }
    return undefined;
  }

  /** The earliest round due of any watcher (the clock's next watch event). */
  nextDueRound(): number {
    this.watchUntil(this.t);
    const period = DETECTION.probeSeconds * 1000;
    return Math.min(this.t + period, ...this.nextRounds.values());
  }

  /** A failed region comes back: it answers again, as a secondary that has caught up. */
  recover(region: string, lagSeconds = 0.4): void {
    this.down.delete(region);
    this.search.recover(region);
    Object.assign(this.region(region), { up: true, writer: true, alarms: [], lagSeconds });
  }

  /** The regions of `a` and of `b` cannot reach each other (both stay up). */
  partition(a: readonly string[], b: readonly string[]): void {
    this.partitions.push([new Set(a), new Set(b)]);
  }

  /** One-way cuts: requests from the first set to the second time out; the other way works. */
  private readonly cuts: [Set<string>, Set<string>][] = [];

  /** Requests from `from` to `to` time out; `to` still reaches `from` (a one-way cut). */
  cut(from: readonly string[], to: readonly string[]): void {
    this.cuts.push([new Set(from), new Set(to)]);
  }

  /** Whether a request from `from` reaches `to`. */
  reachable(from: string, to: string): boolean {
    if (this.down.has(from) || this.down.has(to)) return false;
    if (this.cuts.some(([a, b]) => a.has(from) && b.has(to))) return false;
    return !this.partitions.some(
      ([a, b]) => (a.has(from) && b.has(to)) || (b.has(from) && a.has(to)),
    );
  }

  /**
   * Until when other callers in the account exhaust a control-plane API (a storm of tooling and
   * consoles during an outage), by `<service>:<region>`: every call of the runbook is throttled.
   */
  private readonly storms = new Map<string, number>();

  /**
   * Other callers exhaust `service`'s API in `region` until `until` (virtual ms): the account's
   * token bucket stays empty, so every call gets the service's documented throttling error. The
   * buckets themselves (Route 53: 50 requests, refilled at 10 a second; RDS: 300, refilled at 12)
   * never empty for one runbook alone, so only a storm throttles it.
   */
  storm(service: keyof typeof THROTTLING, region: string, until: number): void {
    this.storms.set(`${service}:${region}`, until);
  }

  /** Throws the service's throttling error while a storm holds its API in `region`. */
  private admitCall(service: keyof typeof THROTTLING, region: string): void {
    if (this.t >= (this.storms.get(`${service}:${region}`) ?? 0)) return;
    this.throttled += 1;
    throw Object.assign(new Error('Rate exceeded'), { name: THROTTLING[service] });
  }

  /** Calls the world throttled. */
  throttled = 0;

  /** The region the calling step runs in (its runbook's region). */
  private caller(): string {
    return drillContext.getStore()?.region ?? this.config.region;
  }

  /** Fails like the SDK when the caller cannot reach the service endpoint in `region`. */
  private reach(service: string, region: string): void {
    if (!this.reachable(this.caller(), region)) throw unreachable(`${service}.${region}`);
  }

  /** Completes managed operations whose modelled duration has passed. */
  private settle(): void {
    if (this.aurora && this.aurora.doneAt <= this.t) {
      // A switchover synchronizes every secondary first: nothing of the stream is lost.
      const synchronized = this.aurora.kind === 'switchover';
      this.previousWriter = this.writer;
      this.writer = this.aurora.to;
      this.writerSince.set(this.writer, this.aurora.doneAt);
      const accepted = this.lastAccepted.get(this.previousWriter);
      if (accepted !== undefined) {
        const seconds = synchronized
          ? 0
          : Math.max(0, accepted - (this.replicatedUpTo.get(this.writer) ?? 0)) / 1000;
        this.losses.push({
          to: this.writer,
          seconds,
          writes: Math.round(seconds * DrillWorld.WRITES_PER_SECOND),
        });
      }
      this.aurora = undefined;
    }
    if (this.cache && this.cache.doneAt <= this.t) {
      this.cachePrimary = this.cache.to;
      this.cache = undefined;
    }
  }

  region(id: string): RegionModel {
    const r = this.regions.get(id);
    if (!r) throw new Error(`drill: no region ${id} in cell ${this.config.cell.jurisdiction}`);
    return r;
  }

  /**
   * Each region's search indices (system indices aside), `<index>: leads (<n> docs)` or
   * `<index>: follows <region> (<n> docs)`, after the followers have pulled what they can.
   */
  searchIndices(): Record<string, readonly string[]> {
    this.search.replicate();
    const out: Record<string, string[]> = {};
    for (const [region, name] of Object.entries(this.config.search?.domains ?? {}))
      out[region] = [...this.search.domain(name).indices]
        .filter(([index]) => !index.startsWith('.'))
        .map(
          ([index, i]) =>
            `${index}: ${i.follow ? `follows ${i.follow.alias.replace(/^from-/, '')}` : 'leads'} (${i.docs.size} docs)`,
        );
    return out;
  }

  /** A document written into `region`'s copy of `index` (one that takes writes). */
  searchWrite(region: string, index: string, id: string): void {
    const name = this.config.search?.domains[region];
    const i = name ? this.search.domain(name).indices.get(index) : undefined;
    if (!i || i.follow) throw new Error(`drill: ${region}'s ${index} takes no writes`);
    i.docs.set(id, { ref: 'drill' });
  }

  /** The record a latency name answers with for a region (what clients there resolve). */
  answer(name: string, region: string): string | undefined {
    return this.records.get(`${name}|${region}`)?.ResourceRecords?.[0]?.Value;
  }

  restore(): void {
    for (const s of this.stubs) s.restore();
    this.ddb.restore();
    this.search.restore();
    globalThis.fetch = this.realFetch;
    Date.now = this.realNow;
  }

  private get realNow(): () => number {
    return DrillWorld.systemNow;
  }

  private static readonly systemNow = Date.now;

  private healthBody(id: string): { status: number; body: string } {
    const r = this.region(id);
    const ok = (pass: boolean, value?: number): CheckResult => ({
      ok: pass,
      ms: 1,
      ...(value !== undefined ? { value } : {}),
    });
    const checks: Record<string, CheckResult> = { 'aurora-writer': ok(r.writer), cache: ok(true) };
    if (this.signedFenced.has(id)) checks[FENCE_CHECK] = ok(false);
    if (r.lagSeconds !== undefined) checks[LAG_CHECK] = ok(true, r.lagSeconds);
    const report = buildReport(id, checks);
    return { status: report.status === 'healthy' ? 200 : 503, body: renderReport(report) };
  }

  private install(): void {
    const c = this.config;
    Date.now = () => this.t;

    // Route 53's control plane (health-check status, record changes) is in us-east-1.
    const route53 = mockClient(Route53Client);
    const r53 = () => {
      this.reach('route53', 'us-east-1');
      this.admitCall('route53', 'us-east-1');
    };
    const checks = c.cell.regions.map((r, i) => ({ id: `hc-${i}`, region: r.id }));
    route53.on(ListHealthChecksCommand).callsFake(() => {
      r53();
      return {
        HealthChecks: checks.map((h) => ({
          Id: h.id,
          HealthCheckConfig: { Type: 'HTTPS_STR_MATCH' },
        })),
      };
    });
    route53.on(ListTagsForResourcesCommand).callsFake((input) => {
      r53();
      return {
        ResourceTagSets: (input.ResourceIds ?? []).map((id: string) => ({
          ResourceType: 'healthcheck',
          ResourceId: id,
          Tags: [{ Key: 'meridian:region', Value: checks.find((h) => h.id === id)?.region }],
        })),
      };
    });
    route53.on(GetHealthCheckStatusCommand).callsFake((input) => {
      r53();
      const region = checks.find((h) => h.id === input.HealthCheckId)?.region ?? '';
      const up = this.region(region).up && !this.signedFenced.has(region);
      return {
        HealthCheckObservations: ['us-east-1', 'eu-west-1', 'ap-southeast-1'].map((Region) => ({
          Region,
          StatusReport: {
            Status: up ? 'Success: HTTP Status Code 200' : 'Failure: Connection timed out',
          },
        })),
      };
    });
    route53.on(ListResourceRecordSetsCommand).callsFake((input) => {
      r53();
      return {
        ResourceRecordSets: [...this.records.values()]
          .filter((r) => r.Name === input.StartRecordName)
          .map((r) => structuredClone(r)),
      };
    });
    route53.on(ChangeResourceRecordSetsCommand).callsFake((input) => {
      r53();
      for (const ch of input.ChangeBatch?.Changes ?? []) {
        const r = ch.ResourceRecordSet as ResourceRecordSet;
        this.records.set(`${r.Name}|${r.SetIdentifier}`, structuredClone(r));
        this.served.push({
          key: `${r.Name}|${r.SetIdentifier}`,
          value: r.ResourceRecords?.[0]?.Value,
          visibleAt: this.t + TIMINGS.route53Propagation.ms,
        });
        this.act(
          `route53:${ch.Action} ${r.Name} ${r.SetIdentifier} → ${r.ResourceRecords?.[0]?.Value}`,
        );
      }
      return { ChangeInfo: { Id: 'change', Status: 'PENDING', SubmittedAt: new Date() } };
    });

    // Critical alarms about a region live in the regions that watch it, never in itself (a
    // region's own alarms die with it).
    const cw = mockClient(CloudWatchClient);
    cw.on(DescribeAlarmsCommand).callsFake(async (input, getClient) => {
      const host = await getClient().config.region();
      this.reach('monitoring', host);
      const about = c.cell.regions.find((r) =>
        input.AlarmNamePrefix?.startsWith(`${c.prefix}-${r.id}-`),
      )?.id;
      return {
        MetricAlarms: (about && host !== about ? this.region(about).alarms : []).map(
          (AlarmName) => ({ AlarmName, StateValue: 'ALARM' }),
        ),
      };
    });

    const rds = mockClient(RDSClient);
    const regionOfArn = (arn: string) => /:rds:([a-z0-9-]+):/.exec(arn)?.[1] ?? '';
    const arnOf = (region: string) =>
      `arn:aws:rds:${region}:${c.account}:cluster:${namesOf(c, region).cluster}`;
    const rdsCall = async (getClient: () => { config: { region: () => Promise<string> } }) => {
      const region = await getClient().config.region();
      this.reach('rds', region);
      this.admitCall('rds', region);
      this.settle();
    };
    const busy = () =>
      Object.assign(new Error('the global cluster is already failing over or switching over'), {
        name: 'InvalidGlobalClusterStateFault',
      });
    rds.on(SwitchoverGlobalClusterCommand).callsFake(async (input, getClient) => {
      await rdsCall(getClient);
      if (this.aurora) throw busy();
      // A switchover synchronizes the old writer first: it must be up and reachable.
      if (
        !this.region(this.writer).writer ||
        !this.reachable(this.writer, regionOfArn(input.TargetDbClusterIdentifier))
      )
        throw Object.assign(new Error('the current writer is unavailable'), {
          name: 'InvalidGlobalClusterStateFault',
        });
      const to = regionOfArn(input.TargetDbClusterIdentifier);
      this.aurora = { to, kind: 'switchover', doneAt: this.t + TIMINGS.auroraSwitchover.ms };
      this.act(`rds:SwitchoverGlobalCluster → ${to}`);
      return {};
    });
    rds.on(FailoverGlobalClusterCommand).callsFake(async (input, getClient) => {
      await rdsCall(getClient);
      if (this.aurora) throw busy();
      const to = regionOfArn(input.TargetDbClusterIdentifier);
      this.aurora = { to, kind: 'failover', doneAt: this.t + TIMINGS.auroraFailover.ms };
      this.act(`rds:FailoverGlobalCluster AllowDataLoss=${input.AllowDataLoss} → ${to}`);
      return {};
    });
    rds.on(DescribeGlobalClustersCommand).callsFake(async (_input, getClient) => {
      await rdsCall(getClient);
      const moving = this.aurora;
      return {
        GlobalClusters: [
          {
            GlobalClusterIdentifier: c.cell.globalCluster,
            Status: moving
              ? moving.kind === 'failover'
                ? 'failing-over'
                : 'switching-over'
              : 'available',
            ...(moving
              ? {
                  FailoverState: {
                    Status: moving.kind === 'failover' ? 'failing-over' : 'switching-over',
                    FromDbClusterArn: arnOf(this.writer),
                    ToDbClusterArn: arnOf(moving.to),
                    IsDataLossAllowed: moving.kind === 'failover',
                  },
                }
              : {}),
            GlobalClusterMembers: c.cell.regions.map((r) => ({
              DBClusterArn: arnOf(r.id),
              IsWriter: r.id === this.writer,
            })),
          },
        ],
      };
    });

    const ec = mockClient(ElastiCacheClient);
    ec.on(FailoverGlobalReplicationGroupCommand).callsFake(async (input, getClient) => {
      this.reach('elasticache', await getClient().config.region());
      this.settle();
      if (this.cache)
        throw Object.assign(new Error('the global replication group is modifying'), {
          name: 'InvalidGlobalReplicationGroupStateFault',
        });
      this.cache = {
        to: input.PrimaryRegion,
        kind: 'failover',
        doneAt: this.t + TIMINGS.cacheFailover.ms,
      };
      this.act(`elasticache:FailoverGlobalReplicationGroup → ${input.PrimaryRegion}`);
      return {};
    });
    ec.on(DescribeGlobalReplicationGroupsCommand).callsFake(async (input, getClient) => {
      this.reach('elasticache', await getClient().config.region());
      this.settle();
      const members = c.cell.datastore?.members ?? {};
      return {
        GlobalReplicationGroups: [
          {
            GlobalReplicationGroupId: input.GlobalReplicationGroupId,
            Status: this.cache ? 'modifying' : 'available',
            Members: Object.entries(members).map(([region, id]) => ({
              ReplicationGroupId: id,
              ReplicationGroupRegion: region,
              Role: region === this.cachePrimary ? 'PRIMARY' : 'SECONDARY',
              Status: this.down.has(region) ? 'unreachable' : 'associated',
            })),
          },
        ],
      };
    });

    const s3 = mockClient(S3Client);
    s3.on(PutObjectCommand).callsFake((input) => {
      // The event report is an action of the runbook too (Record event is fenced).
      if (String(input.Key).startsWith('failover/')) this.act();
      this.objects.set(`${input.Bucket}/${input.Key}`, String(input.Body));
      return {};
    });
    const sm = mockClient(SecretsManagerClient);
    // Only the Cloudflare token secret the template defines answers; any other id is unknown, as
    // in AWS (ResourceNotFoundException).
    sm.on(GetSecretValueCommand).callsFake((input) => {
      if (input.SecretId !== this.config.cloudflare.tokenSecretArn)
        throw Object.assign(new Error("Secrets Manager can't find the specified secret."), {
          name: 'ResourceNotFoundException',
        });
      return { SecretString: JSON.stringify({ tokenId: 'drill-token-id', token: DRILL_TOKEN }) };
    });
    // The search step signs as the domain's admin role: STS answers for this account's roles.
    const sts = mockClient(STSClient);
    sts.on(AssumeRoleCommand).callsFake(async (_input, getClient) => {
      this.reach('sts', await getClient().config.region());
      return {
        Credentials: {
          AccessKeyId: 'ASIADRILL',
          SecretAccessKey: 'drill-secret',
          SessionToken: 'drill-session',
          Expiration: new Date(this.t + 3600_000),
        },
      };
    });
    // Lambda's Invoke, for a function another region's step calls by name (the failback's search
    // step): it runs where it is deployed, as its template defines it (functionsIn). An unknown
    // name is an error, as in AWS; a handler's error is a FunctionError with its type.
    const lambdaApi = mockClient(LambdaClient);
    lambdaApi.on(InvokeCommand).callsFake(async (input, getClient) => {
      const region = await getClient().config.region();
      this.reach('lambda', region);
      const run = this.functionsIn?.(region).get(String(input.FunctionName));
      if (!run)
        throw Object.assign(new Error(`Function not found: ${input.FunctionName}`), {
          name: 'ResourceNotFoundException',
        });
      const payload = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array));
      const encode = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
      try {
        return { StatusCode: 200, Payload: encode(await run(payload)) };
      } catch (err) {
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: encode({ errorType: (err as Error).name, errorMessage: (err as Error).message }),
        };
      }
    });
    this.stubs.push(route53, cw, rds, ec, s3, sm, sts, lambdaApi);

    globalThis.fetch = async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(
        typeof input === 'string' ? input : input instanceof URL ? input.href : input.url,
      );
      if (url.hostname === 'api.cloudflare.com') return this.cloudflare(url, init);
      const es = /\.([a-z0-9-]+)\.es\.amazonaws\.com$/.exec(url.hostname);
      if (es) {
        if (!this.reachable(this.caller(), es[1] as string)) throw new TypeError('fetch failed');
        return this.search.fetch(input, init);
      }
      const region = url.hostname.split('.')[0] ?? '';
      if (
        !this.regions.has(region) ||
        !this.region(region).up ||
        !this.reachable(this.caller(), region)
      )
        throw new TypeError('fetch failed');
      const { status, body } = this.healthBody(region);
      return new Response(body, { status, headers: { 'content-type': 'application/json' } });
    };
  }

  private cloudflare(url: URL, init?: RequestInit): Response {
    const json = (result: unknown, status = 200) =>
      new Response(JSON.stringify({ success: status < 400, result, errors: [] }), { status });
    if (
      (init?.headers as Record<string, string> | undefined)?.authorization !==
      `Bearer ${DRILL_TOKEN}`
    )
      return json(null, 403);
    const m = /\/load_balancers\/pools(?:\/([^/]+))?$/.exec(url.pathname);
    if (!m) return json(null, 404);
    if (!m[1]) return json([...this.pools].map(([id, p]) => ({ id, ...p })));
    const pool = this.pools.get(m[1]);
    if (!pool) return json(null, 404);
    if (init?.method === 'PATCH') {
      pool.enabled = (JSON.parse(String(init.body)) as { enabled: boolean }).enabled;
      this.act(`cloudflare:pool ${pool.name} enabled=${pool.enabled}`);
    }
    return json({ id: m[1], ...pool });
  }
}
