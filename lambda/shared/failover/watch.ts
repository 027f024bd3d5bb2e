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
import type { Route53Client } from '@aws-sdk/client-route-53';
import { HEALTHY_MARKER, parseHealthBody } from '../../health/report';
import { EnvReader, REGION_ID } from '../env';
import { checkersOf, healthCheckOf } from './route53-health';

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
}

export interface WatchClients {
  /** Route 53's API (us-east-1), one attempt per call: the next probe is 10 s away. */
  readonly route53: Route53Client;
  /** CloudWatch in this region. */
  readonly cloudwatch: CloudWatchClient;
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
  readonly detail: { readonly endpoint: string; readonly checkers: string };
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
  ]);
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
  const seen: Seen[] = observed.map(({ region, endpoint, checkers }) => ({
    region,
    at,
    ...(sighted ? { endpoint: endpoint.healthy } : {}),
    ...(checkers.fraction === undefined ? {} : { checkers: checkers.fraction }),
    detail: {
      endpoint: sighted ? endpoint.detail : `not counted: ${c.region} cannot see out`,
      checkers: checkers.detail,
    },
  }));
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
  r.check('failover-watch');
  return { region, controlUrl, watched };
}
