/**
 * sync-schema: the onEvent handler of `Custom::MeridianSyncSchema` (lib/sync/sync-schema.ts),
 * run by aws-cdk-lib's Provider framework. Thin: the work is ../shared/sync/schema-resource.ts.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { EnvReader, HOST, REGION_ID, SECRET_NAME } from '../shared/env';
import { connectFromSecret } from '../shared/sync/aws';
import {
  onSchemaEvent,
  type SchemaEvent,
  type SchemaResponse,
} from '../shared/sync/schema-resource';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  dbSecretName: env.string('MERIDIAN_DB_SECRET_NAME', SECRET_NAME, "the cell's Aurora secret name"),
  dbHost: env.string('MERIDIAN_DB_HOST', HOST, "this region's cluster endpoint"),
};
env.check('sync-schema');
const secrets = new SecretsProvider({
  awsSdkV3Client: new SecretsManagerClient({ region: config.region }),
});

export const handler = (event: SchemaEvent): Promise<SchemaResponse> =>
  onSchemaEvent(event, () => connectFromSecret(secrets, config.dbSecretName, config.dbHost));
