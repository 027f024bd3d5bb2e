/**
 * sync-apply: consumes this region's inbound FIFO queue, re-checks residency, applies each batch
 * in one transaction with conflict resolution, invalidates cached entities, writes the audit and
 * reports partial batch failures. Thin: the run is ../shared/sync/apply.ts.
 */
import { randomUUID } from 'node:crypto';
import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { cacheInvalidator } from '../shared/cache-client';
import { ARN, BUCKET, EnvReader, HOST, QUEUE_URL, REGION_ID, SECRET_NAME } from '../shared/env';
import { fencedCheck } from '../shared/failover/region-state';
import { perRegion } from '../shared/per-region';
import { powertools, traceClient, tracedHandler } from '../shared/powertools';
import { DEFAULT_PLAN_FILE, loadResidencyIndex } from '../shared/residency-plan-file';
import { applyAudit, applyMessages, type Invalidator } from '../shared/sync/apply';
import { connectFromSecret, writeAudit } from '../shared/sync/aws';
import { type Db, takesWrites } from '../shared/sync/db';
import { queueOf, SqsParkingLot, SqsTransport } from '../shared/sync/sqs';
import { LEASE_LOCATION, LeaseWriters, leaseReader } from '../shared/sync/writers';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  dbSecretName: env.string('MERIDIAN_DB_SECRET_NAME', SECRET_NAME, "the cell's Aurora secret name"),
  dbHost: env.string('MERIDIAN_DB_HOST', HOST, "this region's cluster endpoint"),
  /** Absent where the cache is a Global Datastore secondary (it takes no writes here). */
  cacheSecretArn: env.optional('MERIDIAN_CACHE_SECRET_ARN', ARN, 'the cache AUTH token secret ARN'),
  /** The other regions of this cell: where a region that is not the writer forwards. */
  cellQueues: env.map('MERIDIAN_CELL_QUEUES', QUEUE_URL, 'region → inbound queue URL'),
  writerLeases: env.map(
    'MERIDIAN_WRITER_LEASES',
    LEASE_LOCATION,
    'cell → <lock table>@<endpoint regions>',
  ),
  cacheEndpoint: env.string('MERIDIAN_CACHE_ENDPOINT', /^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port'),
  deadLetterUrl: env.string('MERIDIAN_DEAD_LETTER_URL', QUEUE_URL, 'an SQS queue URL'),
  auditBucket: env.string('MERIDIAN_AUDIT_BUCKET', BUCKET, 'an S3 bucket name'),
  maxAttempts: env.int('MERIDIAN_MAX_ATTEMPTS', 1, 20, 5),
  maxClockAheadMs: env.int('MERIDIAN_MAX_CLOCK_AHEAD_MS', 1000, 3_600_000, 60_000),
  stateTable: env.optional(
    'MERIDIAN_REGION_STATE_TABLE',
    /^[\w.-]{3,255}$/,
    'a DynamoDB table name',
  ),
  /** The lock endpoint region holding the region-state items (lib/failover/lock-plan.ts). */
  stateRegion: env.optional('MERIDIAN_REGION_STATE_REGION', REGION_ID, 'an AWS region id'),
};
env.check('sync-apply');
const index = loadResidencyIndex(process.env.MERIDIAN_RESIDENCY_PLAN_FILE ?? DEFAULT_PLAN_FILE);

const { logger, metrics, tracer } = powertools('Meridian/Sync', 'sync-apply');
metrics.setDefaultDimensions({ Region: config.region });
const secrets = new SecretsProvider({
  awsSdkV3Client: traceClient(tracer, new SecretsManagerClient({ region: config.region })),
});
const s3 = traceClient(tracer, new S3Client({ region: config.region }));
const sqsIn = perRegion((r) => traceClient(tracer, new SQSClient({ region: r, maxAttempts: 3 })));
const parking = new SqsParkingLot(sqsIn(config.region), config.deadLetterUrl);
const ownCell = index.cellOf(config.region)?.primary ?? config.region;
const writers = new LeaseWriters(
  index,
  leaseReader(
    config.writerLeases,
    perRegion((r) => traceClient(tracer, new DynamoDBClient({ region: r, maxAttempts: 1 }))),
  ),
);
const forward = new SqsTransport(sqsIn, queueOf(config.cellQueues));

const ddb = traceClient(
  tracer,
  new DynamoDBClient({ region: config.stateRegion ?? config.region }),
);
const fenced = fencedCheck(ddb, config.stateTable, config.region);

let db: Db | undefined;
let invalidator: Invalidator | undefined;

async function redis(): Promise<Invalidator> {
  invalidator ??= await cacheInvalidator(secrets, config.cacheSecretArn, config.cacheEndpoint);
  return invalidator;
}

export const handler = tracedHandler(tracer, async (event: SQSEvent): Promise<SQSBatchResponse> => {
  const correlationId = randomUUID();
  logger.appendKeys({ correlationId });
  db ??= await connectFromSecret(secrets, config.dbSecretName, config.dbHost);
  const connected = db;
  const report = await applyMessages(
    {
      db,
      index,
      region: config.region,
      parking,
      invalidator: await redis(),
      maxAttempts: config.maxAttempts,
      maxClockAheadMs: config.maxClockAheadMs,
      ...(fenced ? { fenced } : {}),
      follow: {
        isWriter: () => takesWrites(connected),
        writer: async () => (await writers.resolve([ownCell]))[0]?.writer ?? ownCell,
        transport: forward,
      },
    },
    event.Records.map((r) => ({
      messageId: r.messageId,
      body: r.body,
      receiveCount: Number(r.attributes.ApproximateReceiveCount ?? 1),
    })),
  );
  await writeAudit(
    s3,
    config.auditBucket,
    'apply',
    config.region,
    correlationId,
    applyAudit(report),
  );
  const s = report.stats;
  metrics.addMetric('RecordsApplied', MetricUnit.Count, s?.written ?? 0);
  metrics.addMetric('Duplicates', MetricUnit.Count, s?.duplicates ?? 0);
  metrics.addMetric('Conflicts', MetricUnit.Count, s?.conflicts ?? 0);
  metrics.addMetric('ReviewsOpened', MetricUnit.Count, s?.reviews ?? 0);
  metrics.addMetric('ResidencyRejected', MetricUnit.Count, report.rejected);
  metrics.addMetric('RecordsParked', MetricUnit.Count, report.parked.length);
  metrics.addMetric('ApplyFailures', MetricUnit.Count, report.failedMessageIds.length);
  if (report.maxLagMs !== undefined)
    metrics.addMetric('SyncLagSeconds', MetricUnit.Seconds, report.maxLagMs / 1000);
  if (report.maxRealtimeLagMs !== undefined)
    metrics.addMetric('RealtimeLagMilliseconds', MetricUnit.Milliseconds, report.maxRealtimeLagMs);
  if (report.forwarded)
    metrics.addMetric(
      'RecordsForwarded',
      MetricUnit.Count,
      Object.values(report.forwarded).reduce((a, b) => a + b, 0),
    );
  metrics.publishStoredMetrics();
  if (report.rejected > 0 || report.parked.length > 0 || report.error)
    logger.warn('apply incomplete', { parked: report.parked, error: report.error });

  // The protocol of partial batch responses (and FIFO ordering after a failure) is Powertools'.
  const failed = new Set(report.failedMessageIds);
  return processPartialResponse(
    event,
    async (record: SQSRecord) => {
      if (failed.has(record.messageId)) throw new Error(report.error ?? 'apply failed');
    },
    new SqsFifoPartialProcessorAsync(),
    { throwOnFullBatchFailure: false },
  );
});
