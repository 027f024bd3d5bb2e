/**
 * The regional health answer: pure functions shared by the health Lambda, the config rules (the
 * Cloudflare monitor's expected body must match a healthy answer and only a healthy one), the
 * Route 53 string-match health check and the failover runbook. The endpoint is unauthenticated:
 * its body carries check names and states only; why a check failed goes to the function's logs.
 */

/** Result of one dependency check (what the function logs; never served as is). */
export interface CheckResult {
  readonly ok: boolean;
  /** Milliseconds the check took (or the deadline it hit). */
  readonly ms: number;
  /** The check hit its deadline. */
  readonly timedOut?: boolean;
  /** Why it failed, or what it measured; may name internal endpoints: logs only. */
  readonly detail?: string;
  /** A measurement, such as the replication lag in seconds. */
  readonly value?: number;
}

/** A check's state as the endpoint serves it. */
export type CheckState = 'ok' | 'failing' | 'timeout';

/** The body of `GET /health`: typed states, no error text. */
export interface HealthBody {
  readonly status: HealthReport['status'];
  readonly region: string;
  readonly failing: readonly string[];
  readonly checks: Readonly<Record<string, CheckState>>;
  /** Aurora replication lag of a secondary, when measured (the runbook's failback reads it). */
  readonly lagSeconds?: number;
}

/** The name of the check that measures replication lag (its value is served as `lagSeconds`). */
export const LAG_CHECK = 'replication-lag';

export interface HealthReport {
  readonly status: 'healthy' | 'unhealthy';
  readonly region: string;
  /** Names of failing checks, sorted: what an on-call engineer reads first. */
  readonly failing: readonly string[];
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/**
 * The check that fails while the region's writer keeper has fenced it (it lost or could not renew
 * the cell's writer lease: lambda/shared/failover/writer-keeper.ts): the endpoint answers 503 with
 * `"failing":["writer-fence"]`, so Route 53 and Cloudflare take the region out of routing.
 */
export const FENCE_CHECK = 'writer-fence';

/** The marker Route 53's string match and Cloudflare's expected body look for. */
export const HEALTHY_MARKER = '"status":"healthy"';

export function buildReport(region: string, checks: Record<string, CheckResult>): HealthReport {
  const failing = Object.keys(checks)
    .filter((name) => !checks[name]?.ok)
    .sort();
  return { status: failing.length === 0 ? 'healthy' : 'unhealthy', region, failing, checks };
}

export const stateOf = (r: CheckResult): CheckState =>
  r.ok ? 'ok' : r.timedOut ? 'timeout' : 'failing';

/** What the endpoint may say about a report: names, states and the lag, never a detail. */
export function healthBody(report: HealthReport): HealthBody {
  const lag = report.checks[LAG_CHECK]?.value;
  return {
    status: report.status,
    region: report.region,
    failing: report.failing,
    checks: Object.fromEntries(
      Object.entries(report.checks).map(([name, r]) => [name, stateOf(r)]),
    ),
    ...(lag !== undefined ? { lagSeconds: lag } : {}),
  };
}

/**
 * The body served for a report. `status` comes first so the marker sits in the first bytes
 * (Route 53 searches only the first 5,120); check states are bare strings, never `status`, so an
 * unhealthy body can never contain the healthy marker.
 */
export function renderReport(report: HealthReport): string {
  return JSON.stringify(healthBody(report));
}

/** Reads a served body back (the runbook probes other regions); undefined when it is not one. */
export function parseHealthBody(body: string): HealthBody | undefined {
  try {
    const b = JSON.parse(body) as Partial<HealthBody> | null;
    return b && typeof b === 'object' && typeof b.checks === 'object' && b.checks !== null
      ? (b as HealthBody)
      : undefined;
  } catch {
    return undefined;
  }
}

/** HTTP status for a report: 200 healthy, 503 otherwise. */
export const httpStatusOf = (report: HealthReport): number =>
  report.status === 'healthy' ? 200 : 503;

/** Bodies of a healthy and an unhealthy answer, for checking a configured matcher against. */
export function sampleBodies(region = 'eu-west-1'): { healthy: string; unhealthy: string } {
  const ok: CheckResult = { ok: true, ms: 1 };
  return {
    healthy: renderReport(buildReport(region, { aurora: ok })),
    unhealthy: renderReport(
      buildReport(region, { aurora: { ok: false, ms: 1000, detail: 'healthy peer timed out' } }),
    ),
  };
}
