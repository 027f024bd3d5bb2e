import { SQSClient } from '@aws-sdk/client-sqs';
import Redis from 'ioredis';
import type { OutboundMessage } from '../../lambda/shared/sync/dispatch';
import {
  cacheKey,
  INVALIDATION_CHANNEL,
  RedisInvalidator,
} from '../../lambda/shared/sync/redis-invalidator';
import { chunk, SqsParkingLot, SqsTransport } from '../../lambda/shared/sync/sqs';
import { FakeSqs } from '../support/fake-sqs';
import { REDIS_URL, withRedis } from '../support/services';
import { change } from './events';

const msg = (i: number, bytes = 10): OutboundMessage => ({
  id: `id-${i}`,
  groupId: 'g',
  body: 'x'.repeat(bytes),
});

describe('SQS adapters', () => {
  test('batches respect 10 entries and 256 KiB per SendMessageBatch', () => {
    expect(chunk(Array.from({ length: 25 }, (_, i) => msg(i))).map((c) => c.length)).toEqual([
      10, 10, 5,
    ]);
    expect(chunk([msg(1, 200_000), msg(2, 100_000), msg(3, 10)]).map((c) => c.length)).toEqual([
      1, 2,
    ]);
  });

  test('transport: FIFO group = entity, dedup id = event id; a redelivered id is dropped by SQS', async () => {
    const sqs = new FakeSqs();
    try {
      const url = 'https://sqs.eu-west-1.amazonaws.com/1/q.fifo';
      const t = new SqsTransport(
        () => new SQSClient({ region: 'eu-west-1' }),
        () => url,
      );
      const messages = Array.from({ length: 12 }, (_, i) => msg(i));
      expect((await t.send('eu-west-1', messages)).failed.size).toBe(0);
      await t.send('eu-west-1', messages.slice(0, 3));
      expect(sqs.queue(url)).toHaveLength(12);
      sqs.down.add('eu-west-1');
      await expect(t.send('eu-west-1', messages)).rejects.toThrow(/ETIMEDOUT/);
    } finally {
      sqs.restore();
    }
  });

  test('parking lot: each record with its reason as a message attribute', async () => {
    const sqs = new FakeSqs();
    try {
      const url = 'https://sqs.eu-west-1.amazonaws.com/1/dlq.fifo';
      const lot = new SqsParkingLot(new SQSClient({ region: 'eu-west-1' }), url);
      const e = change({ seed: 'p' });
      await lot.park([{ event: e, reason: 'residency: no', targets: [] }]);
      const [parked] = sqs.queue(url);
      expect(parked?.attributes).toEqual({ reason: 'residency: no' });
      expect(JSON.parse(parked?.body ?? '{}')).toMatchObject({
        reason: 'residency: no',
        event: { eventId: e.eventId },
      });
    } finally {
      sqs.restore();
    }
  });
});

describe('Redis invalidation (real Redis at REDIS_URL)', () => {
  withRedis('unlinks cached entities in pipelines and publishes what it dropped', async () => {
    const redis = new Redis(REDIS_URL ?? '');
    // Subscribe only once the connection is ready: a SUBSCRIBE sent while ioredis 5.x still runs
    // its ready check races that INFO (redis/ioredis#2037), and the subscriber then reconnects and
    // misses messages (CI saw one of three).
    const sub = new Redis(REDIS_URL ?? '', { lazyConnect: true });
    try {
      await sub.connect();
      const ids = Array.from({ length: 2500 }, (_, i) => `product:test-${process.pid}-${i}`);
      await redis.mset(...ids.flatMap((id) => [cacheKey(id), 'cached']));
      const published: string[][] = [];
      await sub.subscribe(INVALIDATION_CHANNEL);
      // Only this test's own messages: other suites publish on the channel too (an erasure does).
      const mine = `product:test-${process.pid}-`;
      sub.on('message', (_c, m) => {
        const ids = JSON.parse(m) as string[];
        if (ids.every((id) => id.startsWith(mine))) published.push(ids);
      });
      await new RedisInvalidator(redis).invalidate(ids);
      expect(await redis.exists(...ids.map(cacheKey))).toBe(0);
      // Pub/sub delivery is asynchronous: wait for the three messages (up to 5 s on a busy host).
      for (let waited = 0; published.length < 3 && waited < 5000; waited += 20)
        await new Promise((r) => setTimeout(r, 20));
      expect(published.map((p) => p.length)).toEqual([1000, 1000, 500]);
    } finally {
      redis.disconnect();
      sub.disconnect();
    }
  });
});
