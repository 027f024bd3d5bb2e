/**
 * What every runbook step function shares: its configuration, read and checked once at cold
 * start, and SDK clients created once per container (per region where a step reaches into
 * another region). Retries within a call are the SDK's; retries of a step are the state machine's.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type RunbookConfig, readRunbookConfig } from './config';
import type { Clients, RunbookState } from './steps';

function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let c = made.get(region);
    if (!c) {
      c = make(region);
      made.set(region, c);
    }
    return c;
  };
}

export function clientsFor(config: RunbookConfig): Clients {
  const options = { maxAttempts: 3 };
  return {
    route53: new Route53Client({ region: 'us-east-1', ...options }),
    dynamodb: new DynamoDBClient({ region: config.region, ...options }),
    s3: new S3Client({ region: config.region, ...options }),
    secrets: new SecretsManagerClient({ region: config.region, ...options }),
    rds: perRegion((region) => new RDSClient({ region, ...options })),
    elasticache: perRegion((region) => new ElastiCacheClient({ region, ...options })),
    // The failed region may not answer: one attempt, short.
    cloudwatch: perRegion((region) => new CloudWatchClient({ region, maxAttempts: 1 })),
    fetch: (...args) => fetch(...args),
    now: () => Date.now(),
  };
}

const configured = new Map<string, { config: RunbookConfig; clients: Clients }>();

/** Configuration and clients for the current MERIDIAN_RUNBOOK, built once per distinct value. */
function current(): { config: RunbookConfig; clients: Clients } {
  const raw = process.env.MERIDIAN_RUNBOOK ?? '';
  let c = configured.get(raw);
  if (!c) {
    const config = readRunbookConfig(process.env);
    c = { config, clients: clientsFor(config) };
    configured.set(raw, c);
  }
  return c;
}

/**
 * A step's Lambda handler: `(state) => result`. The configuration is checked at cold start (a bad
 * one fails the container's first load) and reused; in Lambda the environment never changes, and
 * the offline drill can run several regions' runbooks in one process.
 */
export function stepHandler<R>(
  step: (config: RunbookConfig, clients: Clients, state: RunbookState) => R | Promise<R>,
): (state: RunbookState) => Promise<R> {
  if (process.env.MERIDIAN_RUNBOOK !== undefined) current();
  return async (state) => {
    const { config, clients } = current();
    return step(config, clients, state);
  };
}
