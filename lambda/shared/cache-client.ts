/**
 * The region's cache (ElastiCache, TLS, AUTH token from Secrets Manager) as the functions that drop
 * cached entities reach it: sync apply after a write, the data-subject function after an erasure.
 * Where no AUTH token is defined, the cache is a Global Datastore secondary (it takes no writes
 * here; the primary's deletions reach it), and there is nothing to drop.
 */
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import Redis from 'ioredis';
import type { Invalidator } from './sync/apply';
import { secretString } from './sync/aws';
import { RedisInvalidator } from './sync/redis-invalidator';

export const NO_CACHE: Invalidator = { invalidate: async () => undefined };

/** An invalidator over the cache at `endpoint` (`host:port`), or NO_CACHE without a secret. */
export async function cacheInvalidator(
  secrets: SecretsProvider,
  secretArn: string | undefined,
  endpoint: string,
): Promise<Invalidator> {
  if (!secretArn) return NO_CACHE;
  const [host, port] = endpoint.split(':');
  const client = new Redis({
    host,
    port: Number(port),
    password: await secretString(secrets, secretArn),
    tls: { servername: host },
    maxRetriesPerRequest: 2,
    connectTimeout: 2000,
  });
  return new RedisInvalidator(client);
}
