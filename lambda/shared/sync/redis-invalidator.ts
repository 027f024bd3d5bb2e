/**
 * Cache invalidation after apply: pipelined UNLINKs of `cache:<type>:<key>` and one PUBLISH per
 * chunk on `meridian:invalidate`, so application nodes holding local copies drop them too.
 * 1,000 keys per round trip instead of one.
 */
import type Redis from 'ioredis';
import type { Invalidator } from './apply';

export const INVALIDATION_CHANNEL = 'meridian:invalidate';
export const cacheKey = (entity: string) => `cache:${entity}`;

export class RedisInvalidator implements Invalidator {
  constructor(
    private readonly redis: Pick<Redis, 'pipeline'>,
    private readonly chunkSize = 1000,
  ) {}

  async invalidate(entityIds: readonly string[]): Promise<void> {
    for (let i = 0; i < entityIds.length; i += this.chunkSize) {
      const part = entityIds.slice(i, i + this.chunkSize);
      const p = this.redis.pipeline();
      p.unlink(...part.map(cacheKey));
      p.publish(INVALIDATION_CHANNEL, JSON.stringify(part));
      const results = (await p.exec()) ?? [];
      const error = results.find(([err]) => err)?.[0];
      if (error) throw error;
    }
  }
}
