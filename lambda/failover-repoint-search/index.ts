/**
 * Runbook step "repoint-search" (see ../shared/failover/steps.ts repointSearch): at promotion, and
 * in a failback (here, and invoked by name from the failback of another cell region). Only the SDK
 * clients it uses.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { STSClient } from '@aws-sdk/client-sts';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { repointSearch } from '../shared/failover/steps';

export const handler = stepHandler(repointSearch, (c) => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
  opensearch: perRegion((region) => new OpenSearchClient({ region, ...CLIENT_OPTIONS })),
  // The failback invokes the original region's search step (one attempt: it acts, then reports).
  lambda: perRegion((region) => new LambdaClient({ region, maxAttempts: 1 })),
  sts: new STSClient({ region: c.region, ...CLIENT_OPTIONS }),
}));
