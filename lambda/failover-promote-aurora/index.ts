/** Runbook step "promote-aurora" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { promoteAurora } from '../shared/failover/steps';

export const handler = stepHandler(promoteAurora, () => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_OPTIONS })),
}));
