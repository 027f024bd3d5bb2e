/** Runbook step "lock" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { acquireLock } from '../shared/failover/steps';

export const handler = stepHandler(acquireLock, () => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
}));
