/**
 * dsr-region: one region's part of a data-subject request (access or erasure), invoked per region
 * with the line `npm run dsr` prints. Thin: the work is ../shared/dsr/handle.ts.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { STSClient } from '@aws-sdk/client-sts';
import { cacheInvalidator } from '../shared/cache-client';
import { handleSubjectRequest, type SubjectRequestResult } from '../shared/dsr/handle';
import { subjectPrefixes } from '../shared/dsr/objects';
import { subjectIndexPatterns } from '../shared/dsr/search';
import { personalClasses } from '../shared/dsr/subject';
import { ARN, BUCKET, EnvReader, HOST, REGION_ID, SECRET_NAME } from '../shared/env';
import { powertools, traceClient, tracedHandler } from '../shared/powertools';
import { DEFAULT_PLAN_FILE, loadResidencyIndex } from '../shared/residency-plan-file';
import { assumedRoleCredentials, signedHttp } from '../shared/signed-http';
import type { Invalidator } from '../shared/sync/apply';
import { connectFromSecret } from '../shared/sync/aws';
import type { Db } from '../shared/sync/db';

const env = new EnvReader(process.env);
const config = {
  region: env.string('MERIDIAN_REGION', REGION_ID, 'an AWS region id'),
  dbSecretName: env.string('MERIDIAN_DB_SECRET_NAME', SECRET_NAME, "the cell's Aurora secret name"),
  dbHost: env.string('MERIDIAN_DB_HOST', HOST, "this region's cluster endpoint"),
  auditBucket: env.string('MERIDIAN_AUDIT_BUCKET', BUCKET, 'an S3 bucket name'),
  dataBucket: env.string('MERIDIAN_DATA_BUCKET', BUCKET, 'an S3 bucket name'),
  /** Absent where the cache is a Global Datastore secondary (it takes no writes here). */
  cacheSecretArn: env.optional('MERIDIAN_CACHE_SECRET_ARN', ARN, 'the cache AUTH token secret ARN'),
  cacheEndpoint: env.string('MERIDIAN_CACHE_ENDPOINT', /^[A-Za-z0-9.-]+:\d{1,5}$/, 'host:port'),
  /** The region's search domain (its VPC endpoint) and the admin role requests are signed as. */
  searchEndpoint: env.optional('MERIDIAN_SEARCH_ENDPOINT', HOST, "the search domain's endpoint"),
  searchRoleArn: env.optional(
    'MERIDIAN_SEARCH_ADMIN_ROLE_ARN',
    ARN,
    "the search domain's admin role ARN",
  ),
};
env.check('dsr-region');
const index = loadResidencyIndex(process.env.MERIDIAN_RESIDENCY_PLAN_FILE ?? DEFAULT_PLAN_FILE);

const { logger, tracer } = powertools('Meridian/SubjectRequests', 'dsr-region');
const secrets = new SecretsProvider({
  awsSdkV3Client: traceClient(tracer, new SecretsManagerClient({ region: config.region })),
});
const s3 = traceClient(tracer, new S3Client({ region: config.region }));
const credentials =
  config.searchRoleArn &&
  assumedRoleCredentials(
    traceClient(tracer, new STSClient({ region: config.region })),
    config.searchRoleArn,
    'subject-request',
  );
const search =
  config.searchEndpoint && credentials
    ? {
        http: async () =>
          signedHttp({
            endpoint: config.searchEndpoint as string,
            region: config.region,
            credentials,
            timeoutMs: 30_000,
          }),
        patterns: subjectIndexPatterns(personalClasses(index)),
      }
    : undefined;
let db: Db | undefined;
let cache: Invalidator | undefined;

export const handler = tracedHandler(
  tracer,
  async (event: unknown): Promise<SubjectRequestResult> => {
    db ??= await connectFromSecret(secrets, config.dbSecretName, config.dbHost);
    cache ??= await cacheInvalidator(secrets, config.cacheSecretArn, config.cacheEndpoint);
    const result = await handleSubjectRequest(
      {
        db,
        s3,
        cache,
        prefixesOf: (entities) => subjectPrefixes(index, entities),
        ...(search ? { search } : {}),
        ...config,
      },
      event,
    );
    // Ids, counts and places only: the record holds no value and no entity key.
    logger.info('subject request', { ...result.record, completion: result.completion });
    return result;
  },
);
