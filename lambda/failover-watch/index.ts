/**
 * failover-watch: every minute (EventBridge schedule), six rounds 10 s apart, probes the health
 * endpoint and the Route 53 checkers of each region this one watches, casts this region's vote
 * about each into the watched region's cell lock table, and publishes EndpointHealthy,
 * CheckersHealthy and WatchersDown (high resolution, namespace Meridian/Watch) for the
 * region-down alarms. Thin: the logic is ../shared/failover/watch.ts; configuration read and
 * checked once, at cold start.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import type { Context } from 'aws-lambda';
import { perRegion } from '../shared/failover/handler';
import { type Round, readWatchConfig, watch } from '../shared/failover/watch';
import { logs, traceClient, tracedHandler } from '../shared/powertools';

const config = readWatchConfig(process.env);
const { logger, tracer } = logs('failover-watch');
const clients = {
  // Route 53's API is served from us-east-1; one attempt: the next round is 10 s away.
  route53: traceClient(tracer, new Route53Client({ region: 'us-east-1', maxAttempts: 1 })),
  cloudwatch: traceClient(tracer, new CloudWatchClient({ region: config.region, maxAttempts: 2 })),
  // The vote stores (the watched regions' cell lock tables): one attempt, the next endpoint or
  // the next round is the retry.
  dynamodb: perRegion((region) =>
    traceClient(tracer, new DynamoDBClient({ region, maxAttempts: 1 })),
  ),
  fetch: (...args: Parameters<typeof fetch>) => fetch(...args),
  now: () => Date.now(),
  sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
};
/** Health-check ids by region, looked up once per container. */
const ids = new Map<string, string>();

/** What a round saw that is not "healthy": the log line an on-call engineer searches for. */
const trouble = (rounds: readonly Round[]) =>
  rounds.flatMap((r) => [
    ...(r.error ? [{ at: r.at, publish: r.error }] : []),
    ...r.seen
      .filter((s) => s.endpoint !== true || s.checkers === undefined || s.checkers < 1)
      .map((s) => ({ at: r.at, region: s.region, ...s.detail })),
  ]);

export const handler = tracedHandler(
  tracer,
  async (_event: unknown, context?: Pick<Context, 'getRemainingTimeInMillis'>) => {
    const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 60_000);
    const rounds = await watch(config, clients, ids, deadline);
    const seen = trouble(rounds);
    if (seen.length > 0)
      logger.warn('watched regions not all healthy', { rounds: rounds.length, seen });
    else logger.info('watched regions healthy', { rounds: rounds.length });
    return { rounds: rounds.length, published: rounds.reduce((n, r) => n + r.published.length, 0) };
  },
);
