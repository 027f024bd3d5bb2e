/**
 * The region watch: from the region that would take over from a region P (lib/failover/runner.ts,
 * runnerRegion), every 10 s, probe P's health endpoint and read P's Route 53 checkers, and publish
 * what was seen as high-resolution metrics. The region-down alarms (lib/failover/region-watch.ts)
 * are built on them from the same DETECTION constants. Detection so never runs in the region that
 * failed, and never depends only on us-east-1 (Route 53's API): when that API does not answer, no
 * CheckersHealthy datapoint is published and the endpoint alone decides. The handler
 * (lambda/failover-watch) only wires clients.
 */
import {
  type CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { HEALTHY_MARKER, parseHealthBody } from '../../health/report';
import { EnvReader, REGION_ID } from '../env';
import { checkersOf, healthCheckOf } from './route53-health';
import { castVote, readVotes, type Tally, tally, type VoteStore } from './votes';

/**
 * How fast a region is seen down: the watch and its alarms are built from these, and the offline
 * drill models time-to-page with them. A failure is paged after `datapoints` consecutive failed
 * probes (one per `probeSeconds` period, each taking at most `probeTimeoutMs`), plus up to
 * `evaluationSeconds` until CloudWatch next evaluates the alarm.
 */
export const DETECTION = {
  /** Seconds between two probes of a region; also the alarms' period (one datapoint each). */
  probeSeconds: 10,
  /** Probes per invocation: the schedule starts the watch once a minute (6 × 10 s). */
  rounds: 6,
  /** How long one probe (the endpoint, or the Route 53 API) may take before it has failed. */
  probeTimeoutMs: 3000,
  /** Breaching datapoints, of as many consecutive periods, that put an alarm in ALARM. */
  datapoints: 3,
  /**
   * How often CloudWatch evaluates an alarm of a 10 s period ("If the alarm period is 10 seconds
   * or 30 seconds, the alarm is evaluated every 10 seconds":
   * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
   */
  evaluationSeconds: 10,
  /** EndpointHealthy below this (no probe of the period succeeded) breaches. */
  endpointHealthyBelow: 1,
  /** CheckersHealthy below this (fewer than half of Route 53's checkers report Success) breaches. */
  checkersHealthyBelow: 0.5,
} as const;

/** CloudWatch namespace of the watch's metrics (dimension `Region`: the watched region). */
export const WATCH_NAMESPACE = 'Meridian/Watch';
export const WATCH_METRICS = {
  /** 1 when the region's health endpoint answered 200 with a healthy body, else 0. */
  endpoint: 'EndpointHealthy',
  /** Fraction of Route 53's checkers whose last observation is Success (0 to 1). */
  checkers: 'CheckersHealthy',
  /**
   * How many of the region's watchers' fresh votes say it is down (votes.ts tally), read from the
   * strongly consistent store after this watcher voted; none when the store gave no answer.
   */
  watchersDown: 'WatchersDown',
} as const;

/** A round's longest run: its probes, then one PutMetricData call. */
export const ROUND_BUDGET_MS = DETECTION.probeTimeoutMs + 2000;
/** The longest an invocation runs: the last round starts (rounds − 1) periods after the first. */
export const LONGEST_RUN_MS =
  (DETECTION.rounds - 1) * DETECTION.probeSeconds * 1000 + ROUND_BUDGET_MS;

export interface WatchConfig {
  /** The region the watch runs in. */
  readonly region: string;
  /**
   * This region's own health URL, probed as a control: when it does not answer at all, this
   * region cannot see out (its NAT, its network), and a failed probe of another region proves
   * nothing, so no EndpointHealthy datapoint is published for that round.
   */
  readonly controlUrl: string;
  /** The watched regions' health URLs (`https://<region>.<zone><healthPath>`), by region id. */
  readonly watched: Readonly<Record<string, string>>;
  /**
   * Per watched region: where its watchers' votes are kept and who they are (this region among
   * them). A region without an entry gets no vote (and no WatchersDown datapoint).
   */
  readonly votes?: Readonly<Record<string, VoteStore & { readonly watchers: readonly string[] }>>;
}

export interface WatchClients {
  /** Route 53's API (us-east-1), one attempt per call: the next probe is 10 s away. */
  readonly route53: Route53Client;
  /** CloudWatch in this region. */
  readonly cloudwatch: CloudWatchClient;
  /** DynamoDB at a lock endpoint (the vote stores). @default - no votes are cast or counted */
  readonly dynamodb?: (region: string) => DynamoDBClient;
  readonly fetch: typeof fetch;
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** What one round saw of one watched region. */
export interface Seen {
  readonly region: string;
  /** When the round started (the datapoints' timestamp, so each falls in its own period). */
  readonly at: number;
  /** Undefined when not counted: the control probe failed (this region cannot see out). */
  readonly endpoint?: boolean;
  /** Fraction of checkers reporting Success; undefined when Route 53's API gave no answer. */
  readonly checkers?: number;
  /** The watchers' tally after this one voted; undefined when the store gave no answer. */
  readonly tally?: Tally;
  readonly detail: {
    readonly endpoint: string;
    readonly checkers: string;
    readonly votes?: string;
  };
}

export interface Round {
  readonly at: number;
  readonly seen: readonly Seen[];
  /** The datapoints published (empty: nothing could be said this round). */
  readonly published: readonly MetricDatum[];
  /** Why PutMetricData failed, when it did. */
  readonly error?: string;
}

export interface Probe {
  /** HTTP 200 and a healthy body. */
  readonly healthy: boolean;
  /** Any HTTP answer came back in time. */
  readonly answered: boolean;
  readonly detail: string;
}

/** GET `url` within `timeoutMs`: healthy = HTTP 200 with a body that is a healthy health answer. */
export async function probeHealth(
  fetchFn: typeof fetch,
  url: string,
  timeoutMs: number = DETECTION.probeTimeoutMs,
): Promise<Probe> {
  try {
    const res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    const healthy =
      res.status === 200 &&
      body.includes(HEALTHY_MARKER) &&
      parseHealthBody(body)?.status === 'healthy';
    return { healthy, answered: true, detail: `HTTP ${res.status}` };
  } catch (err) {
    return { healthy: false, answered: false, detail: (err as Error).message };
  }
}

/**
 * The fraction of `region`'s checkers that report Success, or only why there is none. The
 * health check's id is looked up once per container (`ids`) and forgotten when Route 53 says it
 * no longer exists.
 */
async function checkersSeen(
  route53: Route53Client,
  region: string,
  ids: Map<string, string>,
): Promise<{ fraction?: number; detail: string }> {
  const options = { abortSignal: AbortSignal.timeout(DETECTION.probeTimeoutMs) };
  try {
    let id = ids.get(region);
    if (!id) {
      id = await healthCheckOf(route53, region, options);
      if (!id) return { detail: `no Route 53 health check is tagged with region ${region}` };
      ids.set(region, id);
    }
    const counts = await checkersOf(route53, id, options);
    if (counts.total === 0) return { detail: 'Route 53 reported no checker observations' };
    return {
      fraction: counts.healthy / counts.total,
      detail: `${counts.healthy}/${counts.total} checkers report Success`,
    };
  } catch (err) {
    if ((err as Error).name === 'NoSuchHealthCheck') ids.delete(region);
    return { detail: `Route 53 API: ${(err as Error).message}` };
  }
}

const datum = (name: string, region: string, at: number, value: number): MetricDatum => ({
  MetricName: name,
  Dimensions: [{ Name: 'Region', Value: region }],
  Timestamp: new Date(at),
  Value: value,
  StorageResolution: 1,
});

/** The datapoints a round publishes: only what it could actually observe. */
export function datapointsOf(seen: readonly Seen[]): MetricDatum[] {
  return seen.flatMap((s) => [
    ...(s.endpoint === undefined
      ? []
      : [datum(WATCH_METRICS.endpoint, s.region, s.at, s.endpoint ? 1 : 0)]),
    ...(s.checkers === undefined
      ? []
      : [datum(WATCH_METRICS.checkers, s.region, s.at, s.checkers)]),
    ...(s.tally === undefined
      ? []
      : [datum(WATCH_METRICS.watchersDown, s.region, s.at, s.tally.down.length)]),
  ]);
}

/**
 * Casts this watcher's vote about `region` for the round and counts every watcher's, strongly
 * consistently. Undefined when the region has no vote store (or no client is wired); a store that
 * does not answer gives no tally, which the majority alarm treats as missing, never as down.
 */
async function voteAndCount(
  c: WatchConfig,
  k: WatchClients,
  region: string,
  sawDown: boolean,
  at: number,
): Promise<{ tally?: Tally; detail: string } | undefined> {
  const store = c.votes?.[region];
  if (!store || !k.dynamodb) return undefined;
  try {
    await castVote(store, k.dynamodb, region, c.region, sawDown, at);
    const t = tally(store.watchers, await readVotes(store, k.dynamodb, region, store.watchers), at);
    return {
      tally: t,
      detail: `${t.down.length} of ${t.watchers} watchers say down (majority ${t.quorum}), ${t.up.length} up`,
    };
  } catch (err) {
    return { detail: `vote store ${store.table}: ${(err as Error).name}` };
  }
}

/** One round: every watched region probed in parallel (with the control), then one PutMetricData. */
export async function watchRound(
  c: WatchConfig,
  k: WatchClients,
  ids: Map<string, string>,
): Promise<Round> {
  const at = k.now();
  const control = probeHealth(k.fetch, c.controlUrl);
  const observed = await Promise.all(
    Object.entries(c.watched).map(async ([region, url]) => {
      const [endpoint, checkers] = await Promise.all([
        probeHealth(k.fetch, url),
        checkersSeen(k.route53, region, ids),
      ]);
      return { region, endpoint, checkers };
    }),
  );
  const sighted = (await control).answered;
  const seen: Seen[] = await Promise.all(
    observed.map(async ({ region, endpoint, checkers }) => {
      // Down for this round: the endpoint failed and Route 53's checkers do not say it is up.
      const sawDown =
        !endpoint.healthy && !((checkers.fraction ?? 0) >= DETECTION.checkersHealthyBelow);
      const counted = sighted ? await voteAndCount(c, k, region, sawDown, at) : undefined;
      return {
        region,
        at,
        ...(sighted ? { endpoint: endpoint.healthy } : {}),
        ...(checkers.fraction === undefined ? {} : { checkers: checkers.fraction }),
        ...(counted?.tally ? { tally: counted.tally } : {}),
        detail: {
          endpoint: sighted ? endpoint.detail : `not counted: ${c.region} cannot see out`,
          checkers: checkers.detail,
          ...(counted ? { votes: counted.detail } : {}),
        },
      };
    }),
  );
  const published = datapointsOf(seen);
  if (published.length === 0) return { at, seen, published };
  try {
    await k.cloudwatch.send(
      new PutMetricDataCommand({ Namespace: WATCH_NAMESPACE, MetricData: published }),
    );
    return { at, seen, published };
  } catch (err) {
    return { at, seen, published: [], error: (err as Error).message };
  }
}

/**
 * One invocation: up to DETECTION.rounds rounds, each due `probeSeconds` after the previous one
 * started (so a slow round does not shift the next), none started unless it can finish before
 * `deadline` (epoch ms).
 */
export async function watch(
  c: WatchConfig,
  k: WatchClients,
  ids: Map<string, string>,
  deadline: number,
): Promise<Round[]> {
  const start = k.now();
  const rounds: Round[] = [];
  for (let i = 0; i < DETECTION.rounds; i++) {
    const due = start + i * DETECTION.probeSeconds * 1000;
    if (Math.max(due, k.now()) + ROUND_BUDGET_MS > deadline) break;
    const wait = due - k.now();
    if (wait > 0) await k.sleep(wait);
    rounds.push(await watchRound(c, k, ids));
  }
  return rounds;
}

const HTTPS_URL = /^https:\/\/[a-z0-9.-]+(:\d+)?\/\S*$/;

/** The watch's configuration from its environment, every problem reported at once. */
export function readWatchConfig(env: Readonly<Record<string, string | undefined>>): WatchConfig {
  const r = new EnvReader(env);
  const region = r.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id');
  const controlUrl = r.string(
    'MERIDIAN_CONTROL_URL',
    HTTPS_URL,
    'an https:// URL (this region’s own health endpoint)',
  );
  const watched = r.map('MERIDIAN_WATCHED', HTTPS_URL, 'region id → https:// health URL');
  const keys = Object.keys(watched);
  const parsed = !r.problems.some((p) => p.startsWith('MERIDIAN_WATCHED'));
  if (parsed && (keys.length === 0 || !keys.every((k) => REGION_ID.test(k))))
    r.problems.push(
      `MERIDIAN_WATCHED: got regions ${JSON.stringify(keys)}; expected at least one, each an AWS region id`,
    );
  const votes = readVoteStores(env.MERIDIAN_VOTES, r);
  r.check('failover-watch');
  return { region, controlUrl, watched, ...(votes ? { votes } : {}) };
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** MERIDIAN_VOTES: watched region → { table, endpoints, watchers }; optional (no votes cast). */
function readVoteStores(raw: string | undefined, r: EnvReader): WatchConfig['votes'] {
  if (raw === undefined || raw === '') return undefined;
  const isRegions = (x: unknown): x is string[] =>
    Array.isArray(x) && x.length > 0 && x.every((e) => typeof e === 'string' && REGION_ID.test(e));
  try {
    const v = JSON.parse(raw) as Record<string, Record<string, unknown>>;
    const entries = v && typeof v === 'object' && !Array.isArray(v) ? Object.entries(v) : [];
    if (
      entries.length > 0 &&
      entries.every(
        ([region, e]) =>
          REGION_ID.test(region) &&
          typeof e?.table === 'string' &&
          TABLE_NAME.test(e.table) &&
          isRegions(e.endpoints) &&
          isRegions(e.watchers),
      )
    )
      return v as unknown as WatchConfig['votes'];
  } catch {
    // reported below
  }
  r.problems.push(
    `MERIDIAN_VOTES: got ${JSON.stringify(raw)}; expected a JSON object of region id → {"table", "endpoints": [region ids], "watchers": [region ids]}`,
  );
  return undefined;
}
