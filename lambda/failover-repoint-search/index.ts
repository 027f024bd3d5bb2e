/** Runbook step "repoint-search" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { STSClient } from '@aws-sdk/client-sts';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { repointSearch } from '../shared/failover/steps';

export const handler = stepHandler(repointSearch, (c) => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
  opensearch: perRegion((region) => new OpenSearchClient({ region, ...CLIENT_OPTIONS })),
  sts: new STSClient({ region: c.region, ...CLIENT_OPTIONS }),
}));
