/**
 * health: the region's health endpoint behind its HTTP API (unauthenticated). Answers 200 with
 * `{"status":"healthy",...}` or 503 naming the failing checks, each `ok`, `failing` or `timeout`,
 * for Route 53 health checks, the Cloudflare monitor and the failover runbook; why a check failed
 * (which may name internal endpoints) goes to this function's log only. Thin: logic in
 * ./checks.ts, ./report.ts, ./probes.ts; configuration read and checked once, at cold start.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type Check, evaluate, reuseFor } from './checks';
import { readHealthConfig } from './config';
import {
  bucketReachable,
  queueDepth,
  redisPing,
  replicationLag,
  tcpReachable,
  writerSign,
} from './probes';
import { FENCE_CHECK, httpStatusOf, LAG_CHECK, renderReport } from './report';

const logger = new Logger({ serviceName: 'health' });
const config = readHealthConfig(process.env);
// One attempt each: a retry would not fit in the check's deadline, and the next probe is 10 s away.
const clientOptions = { region: config.region, maxAttempts: 1 };

const checks: Record<string, Check> = {};
if (config.auroraWriter) checks['aurora-writer'] = tcpReachable(config.auroraWriter);
if (config.auroraReader) checks['aurora-reader'] = tcpReachable(config.auroraReader);
if (config.auroraCluster)
  checks[LAG_CHECK] = replicationLag(
    new CloudWatchClient(clientOptions),
    config.auroraCluster,
    config.maxReplicationLagSeconds,
  );
if (config.cache) checks.cache = redisPing(config.cache);
if (config.bucket) checks.bucket = bucketReachable(new S3Client(clientOptions), config.bucket);
if (config.queueUrl)
  checks['sync-queue'] = queueDepth(
    new SQSClient(clientOptions),
    config.queueUrl,
    config.maxQueueDepth,
  );
if (config.fenceParameter)
  checks[FENCE_CHECK] = writerSign(new SSMClient(clientOptions), config.fenceParameter);

const current = reuseFor(config.cacheSeconds, () =>
  evaluate(config.region, checks, config.timeoutMs),
);

export interface HealthResponse {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export const handler = async (): Promise<HealthResponse> => {
  const report = await current();
  // The details stay here: the answer below carries names and states only.
  if (report.status !== 'healthy')
    logger.warn('region unhealthy', { failing: report.failing, checks: report.checks });
  return {
    statusCode: httpStatusOf(report),
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: renderReport(report),
  };
};
