/**
 * dsr-relay: the subject-request state machine's function, in the region the machine runs from.
 * It invokes each reached region's subject-request function there (Step Functions invokes Lambda
 * in its own region only) and writes the request-level record. Thin: the work is
 * ../shared/dsr/relay.ts.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { parseRelayCells, relay } from '../shared/dsr/relay';
import { BUCKET, ConfigurationError, EnvReader, REGION_ID } from '../shared/env';
import { perRegion } from '../shared/per-region';
import { logs, traceClient, tracedHandler } from '../shared/powertools';

const env = new EnvReader(process.env);
const region = env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id');
const jurisdiction = env.string(
  'MERIDIAN_JURISDICTION',
  /^[a-z][a-z0-9-]{0,30}$/,
  'a jurisdiction id',
);
const auditBucket = env.string('MERIDIAN_AUDIT_BUCKET', BUCKET, 'an S3 bucket name');
const rawCells = env.string('MERIDIAN_DSR_CELLS', /^\[/, 'a JSON list of cells');
env.check('dsr-relay');
const cells = parseRelayCells(rawCells);
if (!cells)
  throw new ConfigurationError('dsr-relay', [
    'MERIDIAN_DSR_CELLS: expected a JSON list of {cell, regions: [{region, functionName}]}',
  ]);

const { logger, tracer } = logs('dsr-relay');
// One attempt per invoke: the state machine retries a region with its own backoff.
const lambda = perRegion((r) =>
  traceClient(tracer, new LambdaClient({ region: r, maxAttempts: 1 })),
);
const s3 = traceClient(tracer, new S3Client({ region }));
const config = { jurisdiction, region, cells, auditBucket };

export const handler = tracedHandler(tracer, async (event: unknown) => {
  const out = await relay({ config, lambda, s3 }, event);
  // Ids, regions, outcomes and counts only (the request's entities are not logged).
  logger.info('subject request step', { ...out });
  return out;
});
