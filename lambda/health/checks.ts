/**
 * Running dependency checks with a deadline each, in parallel, and reusing one answer for a few
 * seconds. Pure of AWS: checks are plain async functions (see ./probes.ts for the real ones).
 */
import { buildReport, type CheckResult, type HealthReport } from './report';

/** What a healthy check may resolve with: a detail for the logs, and a measurement. */
export type Measured = string | { readonly detail: string; readonly value: number } | undefined;

/**
 * A dependency check: resolves (optionally with a detail or a measurement) when healthy, throws
 * when not. It receives a signal that aborts at its deadline.
 */
export type Check = (signal: AbortSignal) => Promise<Measured>;

export class CheckTimeout extends Error {
  constructor(readonly ms: number) {
    super(`timed out after ${ms} ms`);
    this.name = 'CheckTimeout';
  }
}

/** Runs one check against its deadline; never throws. */
export async function runCheck(
  check: Check,
  timeoutMs: number,
  now: () => number = performance.now.bind(performance),
): Promise<CheckResult> {
  const started = now();
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CheckTimeout(timeoutMs);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    const measured = await Promise.race([check(controller.signal), deadline]);
    const ms = Math.round(now() - started);
    if (typeof measured === 'object') return { ok: true, ms, ...measured };
    return { ok: true, ms, ...(measured ? { detail: measured } : {}) };
  } catch (err) {
    return {
      ok: false,
      ms: Math.round(now() - started),
      ...(err instanceof CheckTimeout ? { timedOut: true } : {}),
      ...(err instanceof OverLimit ? { value: err.value } : {}),
      detail: err instanceof Error ? err.message : String(err),
    };
  } finally {
    clearTimeout(timer);
  }
}

/** Runs every check in parallel; the slowest bounds the whole answer at about `timeoutMs`. */
export async function evaluate(
  region: string,
  checks: Readonly<Record<string, Check>>,
  timeoutMs: number,
): Promise<HealthReport> {
  const names = Object.keys(checks);
  const results = await Promise.all(names.map((n) => runCheck(checks[n] as Check, timeoutMs)));
  return buildReport(
    region,
    Object.fromEntries(names.map((n, i) => [n, results[i] as CheckResult])),
  );
}

/**
 * Reuses one evaluation for `seconds` and shares an evaluation in flight, so dozens of Route 53
 * and Cloudflare checkers probing every 10 s cost the dependencies a few calls, not hundreds.
 */
export function reuseFor<T>(
  seconds: number,
  produce: () => Promise<T>,
  now: () => number = Date.now,
): () => Promise<T> {
  let cached: { at: number; value: Promise<T> } | undefined;
  return () => {
    const t = now();
    if (cached && t - cached.at < seconds * 1000) return cached.value;
    const value = produce();
    cached = { at: t, value };
    // A failed evaluation is not reused.
    value.catch(() => {
      if (cached?.value === value) cached = undefined;
    });
    return value;
  };
}

/** A measurement over its limit: the check fails and still reports the value. */
export class OverLimit extends Error {
  constructor(
    message: string,
    readonly value: number,
  ) {
    super(message);
    this.name = 'OverLimit';
  }
}

/** A check that fails when `value` is above `max`; the detail reports the measurement. */
export function atMost(what: string, value: number, max: number, unit = ''): string {
  const text = `${what} ${value}${unit} (max ${max}${unit})`;
  if (value > max) throw new OverLimit(text, value);
  return text;
}
