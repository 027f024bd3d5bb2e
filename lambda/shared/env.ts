/**
 * Reading a handler's environment once at cold start, collecting every problem, so a bad
 * deployment fails with one message naming each variable, the value received and what is expected.
 */
type Env = Readonly<Record<string, string | undefined>>;

export class ConfigurationError extends Error {
  constructor(
    readonly handler: string,
    readonly problems: readonly string[],
  ) {
    super(`${handler}: invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigurationError';
  }
}

export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private bad(name: string, value: string | undefined, expected: string): void {
    this.problems.push(
      `${name}: got ${value === undefined ? 'nothing' : JSON.stringify(value)}; expected ${expected}`,
    );
  }

  /** A required string matching `pattern`. */
  string(name: string, pattern: RegExp, expected: string): string {
    const v = this.env[name];
    if (v === undefined || v === '' || !pattern.test(v)) this.bad(name, v, expected);
    return v ?? '';
  }

  /** An optional string matching `pattern`. */
  optional(name: string, pattern: RegExp, expected: string): string | undefined {
    const v = this.env[name];
    if (!v) return undefined;
    if (!pattern.test(v)) this.bad(name, v, expected);
    return v;
  }

  /** An integer in [min, max]; `fallback` when unset (required when no fallback). */
  int(name: string, min: number, max: number, fallback?: number): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') {
      if (fallback !== undefined) return fallback;
      this.bad(name, raw, `an integer from ${min} to ${max}`);
      return min;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      this.bad(name, raw, `an integer from ${min} to ${max}`);
    return n;
  }

  /** A JSON object whose values all match `pattern`. */
  map(name: string, pattern: RegExp, expected: string): Record<string, string> {
    const raw = this.env[name];
    try {
      const v = JSON.parse(raw ?? '') as unknown;
      if (
        v &&
        typeof v === 'object' &&
        !Array.isArray(v) &&
        Object.values(v).every((x) => typeof x === 'string' && pattern.test(x))
      )
        return v as Record<string, string>;
    } catch {
      // reported below
    }
    this.bad(name, raw, `a JSON object of ${expected}`);
    return {};
  }

  /** Throws ConfigurationError listing every problem found so far. */
  check(handler: string): void {
    if (this.problems.length > 0) throw new ConfigurationError(handler, this.problems);
  }
}

export const REGION_ID = /^[a-z]{2}(-[a-z]+)+-\d$/;
export const ARN = /^arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:.+$/;
export const QUEUE_URL =
  /^https:\/\/sqs\.[a-z0-9-]+\.amazonaws\.com\/\d{12}\/[A-Za-z0-9_-]+(\.fifo)?$/;
export const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** The cell's master secret, by name in this region (lib/data/aurora-global.ts grantCredentials). */
export const SECRET_NAME = /^[\w/+=.@-]{1,512}$/;
export const HOST = /^[A-Za-z0-9.-]+$/;
