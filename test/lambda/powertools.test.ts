import { Readable } from 'node:stream';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { type CallTracer, traceClient, tracedHandler } from '../../lambda/shared/powertools';

/** A DynamoDB client whose HTTP layer answers `status` with `body`, as DynamoDB's JSON protocol. */
function dynamo(status: number, body: string): DynamoDBClient {
  return new DynamoDBClient({
    region: 'eu-west-1',
    maxAttempts: 1,
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    requestHandler: {
      handle: async () => ({
        response: {
          statusCode: status,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: Readable.from([Buffer.from(body)]),
        },
      }),
    },
  });
}

const PERSONAL = 'alice@example.com';
const getItem = new GetItemCommand({ TableName: 'customers', Key: { email: { S: PERSONAL } } });

function tracer(slowMs?: number) {
  const logger = new Logger({ serviceName: 'test' });
  const lines: { level: string; message: string; extra: unknown }[] = [];
  for (const level of ['debug', 'info', 'warn', 'error'] as const)
    jest.spyOn(logger, level).mockImplementation((...args: unknown[]) => {
      const [message, extra] = args;
      lines.push({ level, message: String(message), extra });
    });
  const t: CallTracer = slowMs === undefined ? { logger } : { logger, slowMs };
  return { t, lines };
}

const ours = (client: DynamoDBClient) =>
  client.middlewareStack.identify().filter((m) => m.startsWith('meridianCallTracer'));

describe('call tracer (in place of Powertools Tracer)', () => {
  test('a client is captured once, however often it is passed', () => {
    const { t } = tracer();
    const client = dynamo(200, '{}');
    expect(traceClient(t, traceClient(t, client))).toBe(client);
    expect(ours(client)).toHaveLength(1);
  });

  test('a call is one DEBUG line naming client, operation, time, attempts and status, no input', async () => {
    const { t, lines } = tracer();
    await traceClient(t, dynamo(200, '{}')).send(getItem);
    expect(lines).toEqual([
      {
        level: 'debug',
        message: 'AWS call',
        extra: {
          awsCall: {
            client: 'DynamoDB',
            operation: 'GetItem',
            ms: expect.any(Number),
            attempts: 1,
            status: 200,
          },
        },
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain(PERSONAL);
  });

  test('a call slower than slowMs is a WARN line', async () => {
    const { t, lines } = tracer(-1);
    await traceClient(t, dynamo(200, '{}')).send(getItem);
    expect(lines.map((l) => [l.level, l.message])).toEqual([['warn', 'slow AWS call']]);
  });

  test('a failed call is a WARN line with the error name and is rethrown; no input or message', async () => {
    const { t, lines } = tracer();
    const client = traceClient(
      t,
      dynamo(
        400,
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ResourceNotFoundException',
          message: `no table for ${PERSONAL}`,
        }),
      ),
    );
    await expect(client.send(getItem)).rejects.toThrow(/no table/);
    expect(lines).toEqual([
      {
        level: 'warn',
        message: 'AWS call failed',
        extra: {
          awsCall: expect.objectContaining({
            client: 'DynamoDB',
            operation: 'GetItem',
            status: 400,
            error: 'ResourceNotFoundException',
          }),
        },
      },
    ]);
    expect(JSON.stringify(lines)).not.toContain(PERSONAL);
  });

  test('the handler runs as it is: its value returned, its error rethrown', async () => {
    const { t } = tracer();
    const handler = tracedHandler(t, async (fail: boolean) => {
      if (fail) throw new Error('boom');
      return 'ok';
    });
    await expect(handler(false)).resolves.toBe('ok');
    await expect(handler(true)).rejects.toThrow('boom');
  });
});
