/** Runbook step "promote-cache" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { promoteCache } from '../shared/failover/steps';

export const handler = stepHandler(promoteCache, () => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
  elasticache: perRegion((region) => new ElastiCacheClient({ region, ...CLIENT_OPTIONS })),
}));
