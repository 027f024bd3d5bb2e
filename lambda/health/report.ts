/**
 * The regional health answer: pure functions shared by the health Lambda, the config rules (the
 * Cloudflare monitor's expected body must match a healthy answer and only a healthy one) and the
 * Route 53 string-match health check.
 */

/** Result of one dependency check. */
export interface CheckResult {
  readonly ok: boolean;
  /** Milliseconds the check took (or the deadline it hit). */
  readonly ms: number;
  /** Why it failed, or a measured value (e.g. lag seconds) when it passed. */
  readonly detail?: string;
}

export interface HealthReport {
  readonly status: 'healthy' | 'unhealthy';
  readonly region: string;
  /** Names of failing checks, sorted: what an on-call engineer reads first. */
  readonly failing: readonly string[];
  readonly checks: Readonly<Record<string, CheckResult>>;
}

/** The marker Route 53's string match and Cloudflare's expected body look for. */
export const HEALTHY_MARKER = '"status":"healthy"';

export function buildReport(region: string, checks: Record<string, CheckResult>): HealthReport {
  const failing = Object.keys(checks)
    .filter((name) => !checks[name]?.ok)
    .sort();
  return { status: failing.length === 0 ? 'healthy' : 'unhealthy', region, failing, checks };
}

/**
 * The body served for a report. `status` comes first so the marker sits in the first bytes
 * (Route 53 searches only the first 5,120), and per-check entries use `ok`, never `status`, so
 * an unhealthy body can never contain the healthy marker.
 */
export function renderReport(report: HealthReport): string {
  return JSON.stringify(report);
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
