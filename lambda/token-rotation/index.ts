/**
 * token-rotation: Secrets Manager rotation function for the Cloudflare API token (every 30 days).
 * Thin: the protocol is ../shared/token-rotation.ts.
 */
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EnvReader } from '../shared/env';
import { logs, traceClient, tracedHandler } from '../shared/powertools';
import { type RotationEvent, rotate } from '../shared/token-rotation';

const env = new EnvReader(process.env);
const accountId = env.string(
  'MERIDIAN_CLOUDFLARE_ACCOUNT_ID',
  /^[0-9a-f]{32}$/,
  'a Cloudflare account id',
);
env.check('token-rotation');
const { logger, tracer } = logs('token-rotation');
const secrets = traceClient(tracer, new SecretsManagerClient({ maxAttempts: 3 }));

export const handler = tracedHandler(tracer, async (event: RotationEvent): Promise<void> => {
  logger.info('rotation step', { step: event.Step, secret: event.SecretId });
  await rotate({ secrets, fetch: (...a) => fetch(...a), accountId }, event);
});
