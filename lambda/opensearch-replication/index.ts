/**
 * opensearch-replication: the user functions of the `Custom::OpenSearchReplication` provider
 * (aws-cdk-lib `custom_resources.Provider`), which sets up cross-cluster replication from a leader
 * domain (another region, allowed by the residency plan) to this region's domain. One bundle, two
 * entry points: the onEvent function runs `index.onEvent`, the isComplete function
 * `index.isComplete`. The framework answers CloudFormation; these only do the work.
 */

import { Logger } from '@aws-lambda-powertools/logger';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { assumedRoleCredentials, signedHttp } from '../shared/signed-http';
import {
  isComplete as completeStep,
  type IsCompleteRequest,
  type OnEventRequest,
  onEvent as startStep,
} from './custom-resource';
import type { ReplicationDeps } from './replication';

const logger = new Logger({ serviceName: 'opensearch-replication' });
const region = process.env.AWS_REGION ?? '';
if (!region) throw new Error('opensearch-replication: AWS_REGION is not set');
const credentials = defaultProvider();
const clients = new Map<string, OpenSearchClient>();

const client = (r: string) => {
  let c = clients.get(r);
  if (!c) {
    c = new OpenSearchClient({ region: r, credentials, maxAttempts: 5 });
    clients.set(r, c);
  }
  return c;
};

/**
 * Requests to the domain are signed as its fine-grained access control master role (the function
 * may assume it); connection API calls use the function's own role.
 */
const adminRoleArn = process.env.MERIDIAN_SEARCH_ADMIN_ROLE_ARN ?? '';
if (!adminRoleArn)
  throw new Error('opensearch-replication: MERIDIAN_SEARCH_ADMIN_ROLE_ARN is not set');
const adminCredentials = assumedRoleCredentials(
  new STSClient({ region, credentials }),
  adminRoleArn,
  'meridian-opensearch-replication',
);

/** Connection calls with the function's role; `_plugins/_replication` calls signed as the admin role. */
function deps(event: OnEventRequest): ReplicationDeps {
  const endpoint = String(event.ResourceProperties.followerEndpoint ?? '');
  return { client, http: signedHttp({ endpoint, region, credentials: adminCredentials }) };
}

const context = (event: OnEventRequest) => ({
  requestType: event.RequestType,
  logicalId: event.LogicalResourceId,
});

export const onEvent = async (event: OnEventRequest) => {
  logger.info('onEvent', context(event));
  return startStep(event, deps(event));
};

export const isComplete = async (event: IsCompleteRequest) => {
  const answer = await completeStep(event, deps(event));
  logger.info('isComplete', { ...context(event), complete: answer.IsComplete });
  return answer;
};
