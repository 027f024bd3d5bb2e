/** Runbook step "record" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { S3Client } from '@aws-sdk/client-s3';
import { CLIENT_OPTIONS, stepHandler } from '../shared/failover/handler';
import { recordEvent } from '../shared/failover/steps';

export const handler = stepHandler(recordEvent, (c) => ({
  s3: new S3Client({ region: c.region, ...CLIENT_OPTIONS }),
}));
