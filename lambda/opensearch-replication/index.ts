/**
 * opensearch-replication: the user functions of the `Custom::OpenSearchReplication` provider
 * (aws-cdk-lib `custom_resources.Provider`), which sets up cross-cluster replication from a leader
 * domain (another region, allowed by the residency plan) to this region's domain. One bundle, two
 * entry points: the onEvent function runs `index.onEvent`, the isComplete function
 * `index.isComplete`. The framework answers CloudFormation; these only do the work.
 */

import { Sha256 } from '@aws-crypto/sha256-js';
import { Logger } from '@aws-lambda-powertools/logger';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
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
const sts = new STSClient({ region, credentials });

let cachedAdmin: Awaited<ReturnType<typeof assumeAdmin>> | undefined;
/** Assumed once and reused until a minute before expiry (a custom resource makes a few calls). */
async function adminCredentials() {
  if (!cachedAdmin || (cachedAdmin.expiration?.getTime() ?? 0) - Date.now() < 60_000)
    cachedAdmin = await assumeAdmin();
  return cachedAdmin;
}

async function assumeAdmin() {
  const out = await sts.send(
    new AssumeRoleCommand({
      RoleArn: adminRoleArn,
      RoleSessionName: 'meridian-opensearch-replication',
      DurationSeconds: 900,
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey) throw new Error(`could not assume ${adminRoleArn}`);
  return {
    accessKeyId: c.AccessKeyId,
    secretAccessKey: c.SecretAccessKey,
    sessionToken: c.SessionToken,
    expiration: c.Expiration,
  };
}

const signer = new SignatureV4({
  service: 'es',
  region,
  credentials: adminCredentials,
  sha256: Sha256,
});

/** Connection calls with the function's role; `_plugins/_replication` calls signed as the admin role. */
function deps(event: OnEventRequest): ReplicationDeps {
  const endpoint = String(event.ResourceProperties.followerEndpoint ?? '');
  return {
    client,
    http: async (method, path, body) => {
      const payload = JSON.stringify(body);
      const signed = await signer.sign(
        new HttpRequest({
          method,
          protocol: 'https:',
          hostname: endpoint,
          path,
          body: payload,
          headers: { host: endpoint, 'content-type': 'application/json' },
        }),
      );
      const res = await fetch(`https://${endpoint}${path}`, {
        method,
        headers: signed.headers as Record<string, string>,
        body: payload,
      });
      return { status: res.status, body: await res.text() };
    },
  };
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
