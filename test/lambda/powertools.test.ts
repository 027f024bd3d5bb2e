import { Tracer } from '@aws-lambda-powertools/tracer';
import { S3Client } from '@aws-sdk/client-s3';
import { Segment } from 'aws-xray-sdk-core';
import { traceClient, tracedHandler } from '../../lambda/shared/powertools';

const xrayMiddleware = (client: S3Client) =>
  client.middlewareStack.identify().filter((m) => m.startsWith('XRaySDKInstrumentation'));

describe('Powertools Tracer helpers', () => {
  test('an SDK client is captured once, however often it is passed', () => {
    const tracer = new Tracer({ serviceName: 'test', enabled: true });
    jest.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    const client = new S3Client({ region: 'eu-west-1' });
    expect(traceClient(tracer, traceClient(tracer, client))).toBe(client);
    expect(xrayMiddleware(client)).toHaveLength(1);
  });

  test('with tracing off (tests, drills) the client and the handler run untouched', async () => {
    const tracer = new Tracer({ serviceName: 'test', enabled: false });
    const client = new S3Client({ region: 'eu-west-1' });
    traceClient(tracer, client);
    expect(xrayMiddleware(client)).toEqual([]);
    await expect(tracedHandler(tracer, async (n: number) => n + 1)(1)).resolves.toBe(2);
  });

  test('each invocation runs in its own subsegment; an error is recorded on it and rethrown', async () => {
    const tracer = new Tracer({ serviceName: 'test', enabled: true });
    jest.spyOn(tracer, 'isTracingEnabled').mockReturnValue(true);
    const root = new Segment('facade');
    let active: Segment | ReturnType<Segment['addNewSubsegment']> = root;
    jest.spyOn(tracer, 'getSegment').mockImplementation(() => active);
    jest.spyOn(tracer, 'setSegment').mockImplementation((s) => {
      active = s;
    });
    const handler = tracedHandler(tracer, async (fail: boolean) => {
      if (fail) throw new Error('boom');
      return 'ok';
    });
    await expect(handler(false)).resolves.toBe('ok');
    await expect(handler(true)).rejects.toThrow('boom');
    const subs = root.subsegments ?? [];
    expect(subs.map((s) => [s.name, s.isClosed()])).toEqual([
      ['## index.handler', true],
      ['## index.handler', true],
    ]);
    expect(subs[0]).not.toHaveProperty('fault');
    expect(subs[1]).toHaveProperty('fault', true);
    expect(active).toBe(root);
  });
});
