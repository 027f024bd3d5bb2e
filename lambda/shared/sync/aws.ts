/**
 * The AWS pieces the sync handlers need, created lazily once per container: a Postgres
 * connection from the Aurora secret, secrets and envelope data keys (cached by Powertools
 * Parameters), and the audit writer.
 */
import { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Client } from 'pg';
import { datePath } from '../date-path';
import { type Db, pgListen } from './db';
import type { DataKey } from './masking';

/** How long the pseudonym secret and an envelope data key are reused: one hour. */
export const KEY_MAX_AGE_SECONDS = 60 * 60;

/**
 * A secret's string value, from the provider's cache while younger than `maxAge` seconds
 * (Parameters' default, 5 s, when not given). A binary secret is an error.
 */
export async function secretString(
  secrets: SecretsProvider,
  arn: string,
  maxAge?: number,
): Promise<string> {
  const value = await secrets.get(arn, maxAge === undefined ? {} : { maxAge });
  if (typeof value !== 'string' || value === '')
    throw new Error(`secret ${arn} has no string value`);
  return value;
}

/**
 * Fresh AES-256 data keys under a KMS key (the wrapped copy travels with masked values), each one
 * reused by every call for `maxAge` seconds: a Powertools Parameters provider, so the cache, its
 * expiry and `forceFetch` are the library's.
 */
export class DataKeyProvider extends BaseProvider {
  constructor(kms: KMSClient) {
    super({ awsSdkV3Client: kms });
  }

  /** The current data key of `keyId`. */
  dataKey(keyId: string, maxAge = KEY_MAX_AGE_SECONDS): Promise<DataKey> {
    return this.get(keyId, { maxAge }) as Promise<DataKey>;
  }

  protected async _get(keyId: string): Promise<DataKey> {
    const out = await (this.client as KMSClient).send(
      new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }),
    );
    if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS returned no data key');
    return {
      plaintext: Buffer.from(out.Plaintext),
      wrapped: Buffer.from(out.CiphertextBlob).toString('base64'),
    };
  }

  protected _getMultiple(): Promise<undefined> {
    return Promise.reject(new Error('data keys are read one key at a time'));
  }
}

/**
 * Connects with the RDS-generated secret (port, username, password, dbname) to `host`, this
 * region's own cluster (the secret's `host` is the cluster it was made for, in the plan primary's
 * region); TLS verified. `id` is the secret's name or ARN, read in this region.
 */
export async function connectFromSecret(
  secrets: SecretsProvider,
  id: string,
  host: string,
): Promise<Db> {
  const s = JSON.parse(await secretString(secrets, id)) as Record<string, string | number>;
  const client = new Client({
    host,
    port: Number(s.port ?? 5432),
    user: String(s.username),
    password: String(s.password),
    database: String(s.dbname ?? 'postgres'),
    ssl: { rejectUnauthorized: true },
    statement_timeout: 60_000,
  });
  await client.connect();
  return {
    query: (text, params) => client.query(text, params as unknown[]) as never,
    exec: (sql) => client.query(sql),
    listen: pgListen(client),
  };
}

/** `sync/<kind>/<yyyy>/<mm>/<dd>/<region>/<correlation id>.json` */
export function auditKey(kind: string, region: string, correlationId: string, at: Date): string {
  return `sync/${kind}/${datePath(at)}/${region}/${correlationId}.json`;
}

/** Writes one audit record to the region's Object Lock audit bucket. */
export async function writeAudit(
  s3: S3Client,
  bucket: string,
  kind: 'dispatch' | 'apply' | 'redrive',
  region: string,
  correlationId: string,
  record: object,
  at = new Date(),
): Promise<string> {
  const key = auditKey(kind, region, correlationId, at);
  await s3.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: key,
      Body: JSON.stringify({ kind, region, correlationId, at: at.toISOString(), ...record }),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  return key;
}
