/**
 * The AWS pieces both sync handlers need, created lazily once per container: a Postgres
 * connection from the Aurora secret, secrets, the envelope data key, and the audit writer.
 */
import { GenerateDataKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Client } from 'pg';
import type { Db } from './db';
import type { DataKey } from './masking';

export async function secretString(sm: SecretsManagerClient, arn: string): Promise<string> {
  const out = await sm.send(new GetSecretValueCommand({ SecretId: arn }));
  if (!out.SecretString) throw new Error(`secret ${arn} has no string value`);
  return out.SecretString;
}

/** Connects with the RDS-generated secret (host, port, username, password, dbname); TLS verified. */
export async function connectFromSecret(sm: SecretsManagerClient, arn: string): Promise<Db> {
  const s = JSON.parse(await secretString(sm, arn)) as Record<string, string | number>;
  const client = new Client({
    host: String(s.host),
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
  };
}

/** A fresh AES-256 data key under the region's KMS key (wrapped copy travels with values). */
export async function generateDataKey(kms: KMSClient, keyId: string): Promise<DataKey> {
  const out = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
  if (!out.Plaintext || !out.CiphertextBlob) throw new Error('KMS returned no data key');
  return {
    plaintext: Buffer.from(out.Plaintext),
    wrapped: Buffer.from(out.CiphertextBlob).toString('base64'),
  };
}

/** `sync/<kind>/<yyyy>/<mm>/<dd>/<region>/<correlation id>.json` */
export function auditKey(kind: string, region: string, correlationId: string, at: Date): string {
  const d = at.toISOString();
  return `sync/${kind}/${d.slice(0, 4)}/${d.slice(5, 7)}/${d.slice(8, 10)}/${region}/${correlationId}.json`;
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
