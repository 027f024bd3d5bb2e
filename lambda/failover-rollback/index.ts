/** Runbook step "rollback" (see ../shared/failover/steps.ts); only the SDK clients it uses. */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { rollback } from '../shared/failover/steps';

export const handler = stepHandler(rollback, (c) => ({
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
  rds: perRegion((region) => new RDSClient({ region, ...CLIENT_OPTIONS })),
  route53: new Route53Client({ region: 'us-east-1', ...CLIENT_OPTIONS }),
  secrets: new SecretsManagerClient({ region: c.region, ...CLIENT_OPTIONS }),
}));
