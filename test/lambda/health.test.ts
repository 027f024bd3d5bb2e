import * as net from 'node:net';
import { CloudWatchClient, GetMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { HeadBucketCommand, NotFound, S3Client } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { atMost, type Check, evaluate, reuseFor, runCheck } from '../../lambda/health/checks';
import { HealthConfigError, readHealthConfig } from '../../lambda/health/config';
import {
  bucketReachable,
  queueDepth,
  redisPing,
  replicationLag,
  tcpReachable,
  writerSign,
} from '../../lambda/health/probes';
import {
  HEALTHY_MARKER,
  httpStatusOf,
  LAG_CHECK,
  parseHealthBody,
  renderReport,
} from '../../lambda/health/report';
import { REDIS_URL, withRedis } from '../support/services';

/** A local TCP server whose behaviour a test chooses: the real socket path, no network. */
async function server(onSocket: (s: net.Socket) => void): Promise<{ port: number; close(): void }> {
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    sockets.add(s);
    onSocket(s);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as net.AddressInfo;
  return {
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      srv.close();
    },
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = await server(() => {});
  s.close();
  return s.port;
}

const local = (port: number) => ({ host: '127.0.0.1', port });
const ok: Check = async () => undefined;

describe('health report', () => {
  test('healthy answers 200 with the marker; unhealthy 503 without it, naming what failed', async () => {
    const healthy = await evaluate('eu-west-1', { a: ok, b: ok }, 100);
    expect(httpStatusOf(healthy)).toBe(200);
    expect(renderReport(healthy)).toContain(HEALTHY_MARKER);
    expect(renderReport(healthy).indexOf(HEALTHY_MARKER)).toBeLessThan(5120);

    const unhealthy = await evaluate(
      'eu-west-1',
      {
        a: ok,
        z: async () => {
          throw new Error('boom');
        },
        m: async () => {
          throw new Error('down');
        },
      },
      100,
    );
    expect(httpStatusOf(unhealthy)).toBe(503);
    expect(renderReport(unhealthy)).not.toContain(HEALTHY_MARKER);
    expect(unhealthy.failing).toEqual(['m', 'z']);
    expect(unhealthy.checks.z).toMatchObject({ ok: false, detail: 'boom' });
  });

  test('the body names checks and states only: no error text, endpoint or timing reaches it', async () => {
    const endpoint = 'meridian-prod-eu-west-1.cluster-c1x2.eu-west-1.rds.amazonaws.com:5432';
    const report = await evaluate(
      'eu-west-1',
      {
        cache: ok,
        'aurora-writer': async () => {
          throw new Error(`connect ECONNREFUSED ${endpoint}`);
        },
        bucket: () => new Promise(() => {}),
        [LAG_CHECK]: async () => atMost('lag', 75.5, 60, 's'),
      },
      50,
    );
    // The details are still there for the log.
    expect(report.checks['aurora-writer']?.detail).toContain(endpoint);
    const body = renderReport(report);
    expect(JSON.parse(body)).toEqual({
      status: 'unhealthy',
      region: 'eu-west-1',
      failing: ['aurora-writer', 'bucket', LAG_CHECK],
      checks: {
        cache: 'ok',
        'aurora-writer': 'failing',
        bucket: 'timeout',
        [LAG_CHECK]: 'failing',
      },
      lagSeconds: 75.5,
    });
    for (const leak of ['rds.amazonaws.com', 'ECONNREFUSED', 'timed out', 'max 60', '"ms"'])
      expect(body).not.toContain(leak);
  });

  test('the runbook reads states and the lag back from a served body', async () => {
    const body = renderReport(
      await evaluate(
        'eu-central-1',
        { 'aurora-writer': ok, [LAG_CHECK]: async () => ({ detail: 'lag 0.4s', value: 0.4 }) },
        50,
      ),
    );
    expect(parseHealthBody(body)).toMatchObject({
      checks: { 'aurora-writer': 'ok' },
      lagSeconds: 0.4,
    });
    expect(parseHealthBody('<html>gateway error</html>')).toBeUndefined();
  });
});

describe('runCheck deadlines', () => {
  test('a slow dependency fails at its deadline and is told to stop', async () => {
    let aborted = false;
    const slow: Check = (signal) =>
      new Promise((resolve) => {
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        setTimeout(() => resolve(undefined), 5000).unref();
      });
    const started = Date.now();
    const result = await runCheck(slow, 50);
    expect(result).toMatchObject({ ok: false, detail: 'timed out after 50 ms' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(aborted).toBe(true);
  });

  test('checks run in parallel: three slow ones cost one deadline, not three', async () => {
    const hang: Check = () => new Promise(() => {});
    const started = Date.now();
    const report = await evaluate('eu-west-1', { a: hang, b: hang, c: hang }, 200);
    expect(report.failing).toEqual(['a', 'b', 'c']);
    expect(Date.now() - started).toBeLessThan(550);
  });

  test('reuseFor shares one evaluation within its window and refreshes after it', async () => {
    let calls = 0;
    let t = 0;
    const get = reuseFor(
      2,
      async () => ++calls,
      () => t,
    );
    expect(await Promise.all([get(), get()])).toEqual([1, 1]);
    t = 1999;
    expect(await get()).toBe(1);
    t = 2000;
    expect(await get()).toBe(2);
  });

  test('reuseFor does not keep a failed evaluation', async () => {
    let calls = 0;
    const get = reuseFor(60, async () => {
      calls += 1;
      if (calls === 1) throw new Error('first fails');
      return calls;
    });
    await expect(get()).rejects.toThrow('first fails');
    await new Promise((r) => setImmediate(r));
    expect(await get()).toBe(2);
  });
});

describe('dependency probes', () => {
  test('Aurora endpoints: reachable when listening, failing when refused', async () => {
    const db = await server(() => {});
    try {
      expect(await runCheck(tcpReachable(local(db.port)), 500)).toMatchObject({ ok: true });
    } finally {
      db.close();
    }
    const result = await runCheck(tcpReachable(local(await closedPort())), 500);
    expect(result.ok).toBe(false);
    expect(result.detail).toMatch(/ECONNREFUSED/);
  });

  test.each([
    ['+PONG', true],
    ['-NOAUTH Authentication required.', true],
    ['-ERR unknown command', false],
  ])('cache answering %s is ok=%s', async (reply, expected) => {
    const cache = await server((s) => s.once('data', () => s.write(`${reply}\r\n`)));
    try {
      const result = await runCheck(redisPing(local(cache.port), false), 500);
      expect(result.ok).toBe(expected);
    } finally {
      cache.close();
    }
  });

  test('a cache that accepts but never answers fails at the deadline', async () => {
    const cache = await server(() => {});
    try {
      expect(await runCheck(redisPing(local(cache.port), false), 100)).toMatchObject({
        ok: false,
        detail: 'timed out after 100 ms',
      });
    } finally {
      cache.close();
    }
  });

  withRedis('real Redis at REDIS_URL answers the ping', async () => {
    const url = new URL(REDIS_URL ?? '');
    const result = await runCheck(
      redisPing({ host: url.hostname, port: Number(url.port || 6379) }, false),
      1000,
    );
    expect(result).toMatchObject({ ok: true });
  });

  test('writer sign: ok while open; failing while fenced, and when it cannot be read', async () => {
    const ssm = mockClient(SSMClient);
    try {
      ssm.on(GetParameterCommand, { Name: '/p/open' }).resolves({ Parameter: { Value: 'open' } });
      ssm
        .on(GetParameterCommand, { Name: '/p/fenced' })
        .resolves({ Parameter: { Value: 'fenced' } });
      ssm.on(GetParameterCommand, { Name: '/p/gone' }).rejects(new Error('ParameterNotFound'));
      const client = new SSMClient({ region: 'eu-west-1' });
      expect(await runCheck(writerSign(client, '/p/open'), 500)).toMatchObject({ ok: true });
      expect(await runCheck(writerSign(client, '/p/fenced'), 500)).toMatchObject({
        ok: false,
        detail: expect.stringMatching(/^fenced/),
      });
      expect(await runCheck(writerSign(client, '/p/gone'), 500)).toMatchObject({ ok: false });
    } finally {
      ssm.restore();
    }
  });

  test('bucket: ok when HeadBucket answers, failing with the reason when not', async () => {
    const s3 = mockClient(S3Client);
    try {
      s3.on(HeadBucketCommand, { Bucket: 'good' }).resolves({});
      s3.on(HeadBucketCommand, { Bucket: 'gone' }).rejects(
        new NotFound({ message: 'Not Found', $metadata: { httpStatusCode: 404 } }),
      );
      const client = new S3Client({ region: 'eu-west-1' });
      expect(await runCheck(bucketReachable(client, 'good'), 500)).toMatchObject({ ok: true });
      expect(await runCheck(bucketReachable(client, 'gone'), 500)).toMatchObject({
        ok: false,
        detail: 'Not Found',
      });
    } finally {
      s3.restore();
    }
  });

  test.each([
    ['12', true, 'depth 12 (max 100)'],
    ['101', false, 'depth 101 (max 100)'],
  ])('sync queue depth %s is ok=%s', async (depth, expected, detail) => {
    const sqs = mockClient(SQSClient);
    try {
      sqs.on(GetQueueAttributesCommand).resolves({
        Attributes: { ApproximateNumberOfMessages: depth },
      });
      const check = queueDepth(new SQSClient({ region: 'eu-west-1' }), 'https://q', 100);
      expect(await runCheck(check, 500)).toMatchObject({ ok: expected, detail });
    } finally {
      sqs.restore();
    }
  });

  test.each([
    [[12_345], true, 'lag 12.3s (max 60s)'],
    [[61_000], false, 'lag 61s (max 60s)'],
    [[], true, 'lag: no data (primary or idle)'],
  ])('replication lag %j ms is ok=%s', async (values, expected, detail) => {
    const cw = mockClient(CloudWatchClient);
    try {
      cw.on(GetMetricDataCommand).resolves({ MetricDataResults: [{ Id: 'lag', Values: values }] });
      const check = replicationLag(new CloudWatchClient({ region: 'eu-west-1' }), 'c', 60);
      expect(await runCheck(check, 500)).toMatchObject({ ok: expected, detail });
      const input = cw.commandCalls(GetMetricDataCommand)[0]?.args[0].input;
      expect(input?.MetricDataQueries?.[0]?.MetricStat?.Metric?.Dimensions).toEqual([
        { Name: 'DBClusterIdentifier', Value: 'c' },
      ]);
    } finally {
      cw.restore();
    }
  });
});

describe('configuration', () => {
  const good = {
    MERIDIAN_REGION: 'eu-west-1',
    MERIDIAN_AURORA_WRITER: 'writer.cluster-x.eu-west-1.rds.amazonaws.com:5432',
    MERIDIAN_BUCKET: 'meridian-prod-data-eu-west-1',
  };

  test('defaults fill what is not set', () => {
    expect(readHealthConfig(good)).toMatchObject({
      region: 'eu-west-1',
      timeoutMs: 1000,
      cacheSeconds: 2,
      auroraWriter: { host: 'writer.cluster-x.eu-west-1.rds.amazonaws.com', port: 5432 },
    });
  });

  test('malformed configuration: one error naming every variable, value and fix', () => {
    let error: unknown;
    try {
      readHealthConfig({
        MERIDIAN_REGION: 'Europe',
        MERIDIAN_HEALTH_TIMEOUT_MS: '5s',
        MERIDIAN_AURORA_WRITER: 'writer-without-port',
        MERIDIAN_SYNC_QUEUE_URL: 'sqs://q',
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HealthConfigError);
    expect((error as HealthConfigError).problems).toEqual([
      'MERIDIAN_REGION: got "Europe"; expected an AWS region id such as eu-west-1',
      'MERIDIAN_HEALTH_TIMEOUT_MS: got "5s"; expected an integer from 100 to 1800',
      'MERIDIAN_AURORA_WRITER: got "writer-without-port"; expected host:port, such as db.example.internal:5432',
      'MERIDIAN_SYNC_QUEUE_URL: got "sqs://q"; expected an https:// SQS queue URL',
    ]);
  });

  test('nothing to check is a configuration error, not a forever-healthy endpoint', () => {
    expect(() => readHealthConfig({ MERIDIAN_REGION: 'eu-west-1' })).toThrow(
      /no dependency to check/,
    );
  });
});

describe('handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  type Handler = typeof import('../../lambda/health/index');
  /**
   * Loads the handler as a cold start would. The SDK modules are loaded in the same isolated
   * registry and faked there, so the handler's module-scope clients are the faked ones.
   */
  const load = (fake: (sdk: { s3: typeof S3Client; sqs: typeof SQSClient }) => void = () => {}) => {
    let mod: Handler | undefined;
    jest.isolateModules(() => {
      fake({
        s3: require('@aws-sdk/client-s3').S3Client,
        sqs: require('@aws-sdk/client-sqs').SQSClient,
      });
      mod = require('../../lambda/health/index');
    });
    return mod as Handler;
  };

  test('malformed configuration fails the cold start with the clear message', () => {
    process.env.MERIDIAN_REGION = 'nowhere';
    expect(load).toThrow(/MERIDIAN_REGION: got "nowhere"; expected an AWS region id/);
  });

  test('answers 200 when every configured dependency is fine and 503 naming the one that is not', async () => {
    const mocks: { restore(): void }[] = [];
    try {
      const db = await server(() => {});
      Object.assign(process.env, {
        MERIDIAN_REGION: 'eu-west-1',
        MERIDIAN_HEALTH_CACHE_SECONDS: '0',
        MERIDIAN_AURORA_WRITER: `127.0.0.1:${db.port}`,
        MERIDIAN_BUCKET: 'meridian-prod-data-eu-west-1',
        MERIDIAN_SYNC_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/1/inbound.fifo',
        MERIDIAN_MAX_QUEUE_DEPTH: '10',
      });
      const { handler } = load((sdk) => {
        const s3 = mockClient(sdk.s3);
        // Commands of the isolated registry are other classes: fake every call of each client.
        s3.resolves({});
        const sqs = mockClient(sdk.sqs);
        sqs.resolves({
          Attributes: { ApproximateNumberOfMessages: '3' },
        });
        mocks.push(s3, sqs);
      });
      const healthy = await handler();
      expect(healthy.statusCode).toBe(200);
      expect(JSON.parse(healthy.body)).toEqual({
        status: 'healthy',
        region: 'eu-west-1',
        failing: [],
        checks: { 'aurora-writer': 'ok', bucket: 'ok', 'sync-queue': 'ok' },
      });
      expect(healthy.headers['cache-control']).toBe('no-store');

      db.close();
      const logged: string[] = [];
      // Powertools Logger writes warnings to stderr.
      const spies = [process.stdout, process.stderr].map((stream) =>
        jest.spyOn(stream, 'write').mockImplementation((chunk) => {
          logged.push(String(chunk));
          return true;
        }),
      );
      const down = await handler().finally(() => {
        for (const spy of spies) spy.mockRestore();
      });
      expect(down.statusCode).toBe(503);
      expect(JSON.parse(down.body)).toEqual({
        status: 'unhealthy',
        region: 'eu-west-1',
        failing: ['aurora-writer'],
        checks: { 'aurora-writer': 'failing', bucket: 'ok', 'sync-queue': 'ok' },
      });
      // Why it failed (the refused endpoint) is in the function's log, not in the answer.
      expect(down.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
      expect(logged.join('')).toMatch(/region unhealthy.*ECONNREFUSED 127\.0\.0\.1/);
    } finally {
      for (const m of mocks) m.restore();
    }
  });
});
