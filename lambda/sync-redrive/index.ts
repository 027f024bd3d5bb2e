/**
 * sync-redrive: on demand (`aws lambda invoke`, or the failback runbook), returns this region's
 * parked sync records to where they can succeed: outbox rows set pending again, inbound messages
 * back on the inbound queue. Residency rejections and malformed messages are held for a person.
 * Thin: the run is ../shared/sync/redrive.ts.
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BUCKET, EnvReader, HOST, QUEUE_URL, REGION_ID, SECRET_NAME } from '../shared/env';
import { fencedCheck } from '../shared/failover/region-state';
import { powertools, traceClient, tracedHandler } from '../shared/powertools';
import { connectFromSecret, writeAudit } from '../shared/sync/aws';
import type { Db } from '../shared/sync/db';
import { parseRedriveRequest, type RedriveReport, redrive } from '../shared/sync/redrive';
import { SqsDeadLetterQueue, SqsTransport } from '../shared/sync/sqs';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  dbSecretName: env.string('MERIDIAN_DB_SECRET_NAME', SECRET_NAME, "the cell's Aurora secret name"),
  dbHost: env.string('MERIDIAN_DB_HOST', HOST, "this region's cluster endpoint"),
  deadLetterUrl: env.string('MERIDIAN_DEAD_LETTER_URL', QUEUE_URL, 'an SQS queue URL'),
  inboundUrl: env.string('MERIDIAN_INBOUND_URL', QUEUE_URL, 'an SQS queue URL'),
  auditBucket: env.string('MERIDIAN_AUDIT_BUCKET', BUCKET, 'an S3 bucket name'),
  stateTable: env.optional(
    'MERIDIAN_REGION_STATE_TABLE',
    /^[\w.-]{3,255}$/,
    'a DynamoDB table name',
  ),
  /** The lock endpoint region holding the region-state items (lib/failover/lock-plan.ts). */
  stateRegion: env.optional('MERIDIAN_REGION_STATE_REGION', REGION_ID, 'an AWS region id'),
};
env.check('sync-redrive');

const { logger, metrics, tracer } = powertools('Meridian/Sync', 'sync-redrive');
metrics.setDefaultDimensions({ Region: config.region });
const secrets = new SecretsProvider({
  awsSdkV3Client: traceClient(tracer, new SecretsManagerClient({ region: config.region })),
});
const s3 = traceClient(tracer, new S3Client({ region: config.region }));
const sqs = traceClient(tracer, new SQSClient({ region: config.region, maxAttempts: 3 }));
const deadLetters = new SqsDeadLetterQueue(sqs, config.deadLetterUrl);
const inbound = new SqsTransport(
  () => sqs,
  () => config.inboundUrl,
);
const fenced = fencedCheck(
  traceClient(tracer, new DynamoDBClient({ region: config.stateRegion ?? config.region })),
  config.stateTable,
  config.region,
);

let db: Db | undefined;

export const handler = tracedHandler(
  tracer,
  async (event: unknown): Promise<RedriveReport & { correlationId: string }> => {
    const options = parseRedriveRequest(event);
    const correlationId = randomUUID();
    logger.appendKeys({ correlationId });
    db ??= await connectFromSecret(secrets, config.dbSecretName, config.dbHost);
    const report = await redrive(
      { region: config.region, db, deadLetters, inbound, ...(fenced ? { fenced } : {}) },
      options,
    );
    await writeAudit(s3, config.auditBucket, 'redrive', config.region, correlationId, {
      request: options,
      ...report,
    });
    if (!report.dryRun) {
      metrics.addMetric('RecordsUnparked', MetricUnit.Count, report.unparked);
      metrics.addMetric('RecordsReturned', MetricUnit.Count, report.returned);
    }
    metrics.addMetric('RecordsHeld', MetricUnit.Count, report.heldCount);
    metrics.publishStoredMetrics();
    if (report.fenced) logger.warn('region is fenced: nothing redriven');
    if (report.heldCount > 0 || report.failed.length > 0)
      logger.warn('redrive left records in the dead-letter queue', {
        held: report.held,
        failed: report.failed,
      });
    return { correlationId, ...report };
  },
);
