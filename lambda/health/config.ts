/**
 * The health function's configuration, read once from its environment at cold start. Every
 * problem is reported together, each naming the variable, the value received and what is expected,
 * so a bad deployment fails its first invocation with a message that says how to fix it.
 */
import { BUCKET, ConfigurationError, EnvReader, REGION_ID } from '../shared/env';

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
  /** The writer keeper's sign (an SSM parameter), in regions of a cell with Aurora. */
  readonly fenceParameter?: string;
}

export class HealthConfigError extends ConfigurationError {
  constructor(problems: readonly string[]) {
    super('health', problems);
    this.name = 'HealthConfigError';
  }
}

const ENDPOINT = /^([A-Za-z0-9.-]+):(\d{1,5})$/;

export function readHealthConfig(env: Readonly<Record<string, string | undefined>>): HealthConfig {
  const r = new EnvReader(env);
  const endpoint = (name: string): Endpoint | undefined => {
    const expected = 'host:port, such as db.example.internal:5432';
    const raw = r.optional(name, ENDPOINT, expected);
    const m = raw ? ENDPOINT.exec(raw) : null;
    if (!m?.[1]) return undefined;
    const port = Number(m[2]);
    if (port < 1 || port > 65535) {
      r.problems.push(`${name}: got ${JSON.stringify(raw)}; expected ${expected}`);
      return undefined;
    }
    return { host: m[1], port };
  };
  const config: HealthConfig = {
    region: r.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id such as eu-west-1'),
    timeoutMs: r.int('MERIDIAN_HEALTH_TIMEOUT_MS', 100, 1800, 1000),
    cacheSeconds: r.int('MERIDIAN_HEALTH_CACHE_SECONDS', 0, 10, 2),
    auroraWriter: endpoint('MERIDIAN_AURORA_WRITER'),
    auroraReader: endpoint('MERIDIAN_AURORA_READER'),
    auroraCluster: r.optional(
      'MERIDIAN_AURORA_CLUSTER',
      /^[a-z][a-z0-9-]{0,62}$/,
      'an Aurora cluster identifier',
    ),
    maxReplicationLagSeconds: r.int('MERIDIAN_MAX_REPLICATION_LAG_SECONDS', 1, 3600, 60),
    cache: endpoint('MERIDIAN_CACHE_ENDPOINT'),
    bucket: r.optional('MERIDIAN_BUCKET', BUCKET, 'an S3 bucket name'),
    queueUrl: r.optional('MERIDIAN_SYNC_QUEUE_URL', /^https:\/\/\S+$/, 'an https:// SQS queue URL'),
    maxQueueDepth: r.int('MERIDIAN_MAX_QUEUE_DEPTH', 1, 10_000_000, 100_000),
    fenceParameter: r.optional(
      'MERIDIAN_FENCE_PARAMETER',
      /^\/[\w./-]{1,1000}$/,
      'an SSM parameter name such as /meridian-prod/eu-west-1/writer-fence',
    ),
  };
  const checks = [config.auroraWriter, config.cache, config.bucket, config.queueUrl];
  if (r.problems.length === 0 && checks.every((c) => c === undefined))
    r.problems.push(
      'no dependency to check: set at least one of MERIDIAN_AURORA_WRITER, MERIDIAN_CACHE_ENDPOINT, MERIDIAN_BUCKET, MERIDIAN_SYNC_QUEUE_URL',
    );
  if (r.problems.length > 0) throw new HealthConfigError(r.problems);
  return config;
}
