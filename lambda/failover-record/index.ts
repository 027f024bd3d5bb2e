/** Runbook step "record" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { recordEvent } from '../shared/failover/steps';

export const handler = stepHandler(recordEvent, (c) => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
  s3: new S3Client({ region: c.region, ...CLIENT_OPTIONS }),
}));
