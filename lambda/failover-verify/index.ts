/** Runbook step "verify" (see ../shared/failover/steps.ts); only the SDK clients it uses. */

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Route53Client } from '@aws-sdk/client-route-53';
import { CLIENT_OPTIONS, perRegion, stepHandler } from '../shared/failover/handler';
import { verifyFailure } from '../shared/failover/steps';

export const handler = stepHandler(verifyFailure, () => ({
  route53: new Route53Client({ region: 'us-east-1', ...CLIENT_OPTIONS }),
  // The failed region may not answer: one attempt.
  cloudwatch: perRegion((region) => new CloudWatchClient({ region, maxAttempts: 1 })),
  // The watchers' votes, in the cell's lock table.
  dynamodb: perRegion((region) => new DynamoDBClient({ region, ...CLIENT_OPTIONS })),
}));
