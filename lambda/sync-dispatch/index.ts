/**
 * sync-dispatch: started by the EventBridge schedule (and on demand with `aws lambda invoke`),
 * sends this region's outbox to the other cells as the residency plan allows. Thin: the run is
 * ../shared/sync/dispatch.ts; configuration is read and checked once, here, at cold start.
 */
import { randomUUID } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { ARN, BUCKET, EnvReader, HOST, QUEUE_URL, REGION_ID, SECRET_NAME } from '../shared/env';
import { fencedCheck } from '../shared/failover/region-state';
import { perRegion } from '../shared/per-region';
import { powertools, traceClient, tracedHandler } from '../shared/powertools';
import { DEFAULT_PLAN_FILE, loadResidencyIndex } from '../shared/residency-plan-file';
import {
  connectFromSecret,
  DataKeyProvider,
  KEY_MAX_AGE_SECONDS,
  secretString,
  writeAudit,
} from '../shared/sync/aws';
import { type Db, takesWrites } from '../shared/sync/db';
import {
  type DispatchDeps,
  type DispatchReport,
  dispatchUntilDrained,
  emptyReport,
  sumDispatch,
  TargetBreakers,
} from '../shared/sync/dispatch';
import { type DataKey, Masker } from '../shared/sync/masking';
import { relay } from '../shared/sync/relay';
import { syncTargets } from '../shared/sync/routes';
import { queueOf, SqsParkingLot, SqsTransport } from '../shared/sync/sqs';
import { LEASE_LOCATION, LeaseWriters, leaseReader } from '../shared/sync/writers';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  dbSecretName: env.string('MERIDIAN_DB_SECRET_NAME', SECRET_NAME, "the cell's Aurora secret name"),
  dbHost: env.string('MERIDIAN_DB_HOST', HOST, "this region's cluster endpoint"),
  pseudonymSecretArn: env.string('MERIDIAN_PSEUDONYM_SECRET_ARN', ARN, 'a secret ARN'),
  keyId: env.string('MERIDIAN_KMS_KEY_ARN', ARN, 'the regional KMS key ARN'),
  targetQueues: env.map('MERIDIAN_TARGET_QUEUES', QUEUE_URL, 'region → inbound queue URL'),
  writerLeases: env.map(
    'MERIDIAN_WRITER_LEASES',
    LEASE_LOCATION,
    'cell → <lock table>@<endpoint regions>',
  ),
  deadLetterUrl: env.string('MERIDIAN_DEAD_LETTER_URL', QUEUE_URL, 'an SQS queue URL'),
  auditBucket: env.string('MERIDIAN_AUDIT_BUCKET', BUCKET, 'an S3 bucket name'),
  batchSize: env.int('MERIDIAN_BATCH_SIZE', 1, 10_000, 1000),
  relaySeconds: env.int('MERIDIAN_RELAY_SECONDS', 10, 240, 90),
  maxAttempts: env.int('MERIDIAN_MAX_ATTEMPTS', 1, 20, 5),
  stateTable: env.optional(
    'MERIDIAN_REGION_STATE_TABLE',
    /^[\w.-]{3,255}$/,
    'a DynamoDB table name',
  ),
  /** The lock endpoint region holding the region-state items (lib/failover/lock-plan.ts). */
  stateRegion: env.optional('MERIDIAN_REGION_STATE_REGION', REGION_ID, 'an AWS region id'),
};
env.check('sync-dispatch');
const index = loadResidencyIndex(process.env.MERIDIAN_RESIDENCY_PLAN_FILE ?? DEFAULT_PLAN_FILE);

const { logger, metrics, tracer } = powertools('Meridian/Sync', 'sync-dispatch');
metrics.setDefaultDimensions({ Region: config.region });
const secrets = new SecretsProvider({
  awsSdkV3Client: traceClient(tracer, new SecretsManagerClient({ region: config.region })),
});
const dataKeys = new DataKeyProvider(traceClient(tracer, new KMSClient({ region: config.region })));
const s3 = traceClient(tracer, new S3Client({ region: config.region }));
const sqsIn = perRegion((r) => traceClient(tracer, new SQSClient({ region: r, maxAttempts: 3 })));
const breakers = new TargetBreakers();
// The target cells are the residency plan's, their writers whoever holds each cell's lease now.
const targets = syncTargets(index, config.region);
const writers = new LeaseWriters(
  index,
  leaseReader(
    config.writerLeases,
    perRegion((r) => traceClient(tracer, new DynamoDBClient({ region: r, maxAttempts: 1 }))),
  ),
);
const ddb = traceClient(
  tracer,
  new DynamoDBClient({ region: config.stateRegion ?? config.region }),
);
const fenced = fencedCheck(ddb, config.stateTable, config.region);

let db: Db | undefined;
let masker: { value: Masker; pseudonym: string; dataKey: DataKey } | undefined;

/** The masker of the current keys (each cached for an hour by Parameters); rebuilt when one changes. */
async function currentMasker(): Promise<Masker> {
  const [pseudonym, dataKey] = await Promise.all([
    secretString(secrets, config.pseudonymSecretArn, KEY_MAX_AGE_SECONDS),
    dataKeys.dataKey(config.keyId),
  ]);
  if (masker?.pseudonym !== pseudonym || masker.dataKey !== dataKey) {
    const value = new Masker((c) => index.rulesOf(c)?.masking, {
      pseudonymKey: Buffer.from(pseudonym, 'utf8'),
      dataKey,
    });
    masker = { value, pseudonym, dataKey };
  }
  return masker.value;
}

/**
 * One run drains what is due, batch after batch, while the invocation has time; each batch writes
 * its own audit record (`<correlation id>-<n>`), the metrics are the run's totals.
 */
export const handler = tracedHandler(
  tracer,
  async (event: { relay?: boolean } | undefined, context: Context): Promise<DispatchReport> => {
    const correlationId = randomUUID();
    logger.appendKeys({ correlationId });
    db ??= await connectFromSecret(secrets, config.dbSecretName, config.dbHost);
    const connected = db;
    const deps: DispatchDeps = {
      db,
      index,
      masker: await currentMasker(),
      transport: new SqsTransport(sqsIn, queueOf(config.targetQueues)),
      parking: new SqsParkingLot(sqsIn(config.region), config.deadLetterUrl),
      breakers,
      targets,
      writers,
      isWriter: () => takesWrites(connected),
      ...(fenced ? { fenced } : {}),
    };
    const options = {
      region: config.region,
      worker: correlationId,
      batchSize: config.batchSize,
      maxAttempts: config.maxAttempts,
    };
    const onBatch = async (batch: DispatchReport, n: number) => {
      await writeAudit(
        s3,
        config.auditBucket,
        'dispatch',
        config.region,
        `${correlationId}-${n}`,
        batch,
      );
    };
    // The relay listens for commits for relaySeconds (its schedule starts one a minute, so two
    // overlap and no commit waits for the next); the scheduled run drains every class once.
    const until = Date.now() + config.relaySeconds * 1000;
    const reports =
      event?.relay === true && connected.listen
        ? await relay(deps, { ...options, classes: index.realtimeClasses() }, connected.listen, {
            remainingMs: () => Math.min(context.getRemainingTimeInMillis(), until - Date.now()),
            onBatch,
          })
        : await dispatchUntilDrained(deps, options, {
            remainingMs: () => context.getRemainingTimeInMillis(),
            onBatch,
          });
    const report = sumDispatch(
      reports.length > 0 ? reports : [emptyReport(config.region, correlationId)],
    );
    const sent = Object.values(report.sent).reduce((a, b) => a + b, 0);
    metrics.addMetric('RecordsSynced', MetricUnit.Count, sent);
    metrics.addMetric(
      'RecordsWithheld',
      MetricUnit.Count,
      Object.values(report.withheld).reduce((a, b) => a + b, 0),
    );
    metrics.addMetric('RecordsMasked', MetricUnit.Count, report.masked);
    metrics.addMetric('RecordsRetrying', MetricUnit.Count, report.retrying);
    metrics.addMetric('RecordsParked', MetricUnit.Count, report.parked);
    if (report.oldestSentWall !== undefined)
      metrics.addMetric(
        'SyncLagSeconds',
        MetricUnit.Seconds,
        (Date.now() - report.oldestSentWall) / 1000,
      );
    metrics.publishStoredMetrics();
    if (report.parked > 0 || Object.keys(report.failures).length > 0)
      logger.warn('dispatch incomplete', {
        failures: report.failures,
        parked: report.parkedRecords,
      });
    else
      logger.info('dispatch', {
        batches: reports.length,
        claimed: report.claimed,
        sent: report.sent,
      });
    return report;
  },
);
