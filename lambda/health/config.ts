/**
 * The health function's configuration, read once from its environment at cold start. Every
 * problem is reported together, each naming the variable, the value received and what is expected,
 * so a bad deployment fails its first invocation with a message that says how to fix it.
 */

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

export interface HealthConfig {
  readonly region: string;
  readonly timeoutMs: number;
  readonly cacheSeconds: number;
  readonly auroraWriter?: Endpoint;
  readonly auroraReader?: Endpoint;
  /** Cluster whose AuroraGlobalDBReplicationLag is checked (secondaries publish it). */
  readonly auroraCluster?: string;
  readonly maxReplicationLagSeconds: number;
  readonly cache?: Endpoint;
  readonly bucket?: string;
  readonly queueUrl?: string;
  readonly maxQueueDepth: number;
}

export class HealthConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`health: invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'HealthConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

export function readHealthConfig(env: Env): HealthConfig {
  const problems: string[] = [];
  const bad = (name: string, value: string | undefined, expected: string) =>
    problems.push(
      `${name}: got ${value === undefined ? 'nothing' : JSON.stringify(value)}; expected ${expected}`,
    );

  const int = (name: string, min: number, max: number, fallback?: number): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') {
      if (fallback !== undefined) return fallback;
      bad(name, raw, `an integer from ${min} to ${max}`);
      return min;
    }
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max)
      bad(name, raw, `an integer from ${min} to ${max}`);
    return n;
  };
  const endpoint = (name: string): Endpoint | undefined => {
    const raw = env[name];
    if (!raw) return undefined;
    const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(raw);
    const port = Number(m?.[2]);
    if (!m?.[1] || port < 1 || port > 65535) {
      bad(name, raw, 'host:port, such as db.example.internal:5432');
      return undefined;
    }
    return { host: m[1], port };
  };
  const optional = (name: string, pattern: RegExp, expected: string): string | undefined => {
    const raw = env[name];
    if (!raw) return undefined;
    if (!pattern.test(raw)) bad(name, raw, expected);
    return raw;
  };

  const region = env.MERIDIAN_REGION ?? '';
  if (!/^[a-z]{2}(-[a-z]+)+-\d$/.test(region))
    bad('MERIDIAN_REGION', env.MERIDIAN_REGION, 'an AWS region id such as eu-west-1');
  const config: HealthConfig = {
    region,
    timeoutMs: int('MERIDIAN_HEALTH_TIMEOUT_MS', 100, 1800, 1000),
    cacheSeconds: int('MERIDIAN_HEALTH_CACHE_SECONDS', 0, 10, 2),
    auroraWriter: endpoint('MERIDIAN_AURORA_WRITER'),
    auroraReader: endpoint('MERIDIAN_AURORA_READER'),
    auroraCluster: optional(
      'MERIDIAN_AURORA_CLUSTER',
      /^[a-z][a-z0-9-]{0,62}$/,
      'an Aurora cluster identifier',
    ),
    maxReplicationLagSeconds: int('MERIDIAN_MAX_REPLICATION_LAG_SECONDS', 1, 3600, 60),
    cache: endpoint('MERIDIAN_CACHE_ENDPOINT'),
    bucket: optional('MERIDIAN_BUCKET', /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name'),
    queueUrl: optional('MERIDIAN_SYNC_QUEUE_URL', /^https:\/\/\S+$/, 'an https:// SQS queue URL'),
    maxQueueDepth: int('MERIDIAN_MAX_QUEUE_DEPTH', 1, 10_000_000, 100_000),
  };
  const checks = [config.auroraWriter, config.cache, config.bucket, config.queueUrl];
  if (problems.length === 0 && checks.every((c) => c === undefined))
    problems.push(
      'no dependency to check: set at least one of MERIDIAN_AURORA_WRITER, MERIDIAN_CACHE_ENDPOINT, MERIDIAN_BUCKET, MERIDIAN_SYNC_QUEUE_URL',
    );
  if (problems.length > 0) throw new HealthConfigError(problems);
  return config;
}
