/**
 * The relay's input is checked as if hostile: it reaches only the regions its machine was built
 * for, whatever the execution input says; a region's answer must be this request's completion
 * record; the summary takes only outcomes of each cell's own regions.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import {
  parseRelayCells,
  type RelayConfig,
  resultKey,
  runRegionStep,
  summarize,
} from '../../lambda/shared/dsr/relay';
import { uuid } from '../sync/events';

const config: RelayConfig = {
  jurisdiction: 'eu',
  region: 'eu-west-1',
  auditBucket: 'audit',
  cells: [
    {
      cell: 'eu',
      regions: [
        { region: 'eu-west-1', functionName: 'm-eu-west-1-subject-request' },
        { region: 'eu-central-1', functionName: 'm-eu-central-1-subject-request' },
      ],
    },
    { cell: 'us', regions: [{ region: 'us-east-1', functionName: 'm-us-east-1-subject-request' }] },
  ],
};
const request = {
  requestId: uuid('relay-1'),
  action: 'erase',
  jurisdiction: 'eu',
  entities: [{ entityType: 'customer', entityKey: 'c-relay-1' }],
  at: { wall: 1, logical: 0 },
};
const deadline = '2027-01-06T00:00:00.000Z';
const lambda = mockClient(LambdaClient);
afterAll(() => lambda.restore());
beforeEach(() => lambda.reset());
const deps = {
  config,
  lambda: (region: string) => new LambdaClient({ region }),
  s3: new S3Client({}),
};
const answer = (body: unknown, FunctionError?: string) => ({
  StatusCode: 200,
  Payload: new TextEncoder().encode(JSON.stringify(body)) as never,
  ...(FunctionError ? { FunctionError } : {}),
});

describe('region step', () => {
  test('refuses a region its machine does not reach, before invoking anything', async () => {
    await expect(
      runRegionStep(deps, { step: 'region', regions: ['ap-south-1'], request, deadline }),
    ).rejects.toMatchObject({ name: 'SubjectRequestRejected' });
    expect(lambda.calls()).toHaveLength(0);
  });

  test("a region's refusal of the request is final; its other errors are retried", async () => {
    lambda.on(InvokeCommand).resolves(answer({ errorType: 'SubjectRequestError' }, 'Unhandled'));
    await expect(
      runRegionStep(deps, { step: 'region', regions: ['us-east-1'], request, deadline }),
    ).rejects.toMatchObject({ name: 'SubjectRequestRejected' });
    lambda.on(InvokeCommand).resolves(answer({ errorType: 'ConnectionRefused' }, 'Unhandled'));
    await expect(
      runRegionStep(deps, { step: 'region', regions: ['us-east-1'], request, deadline }),
    ).rejects.toMatchObject({ name: 'RegionFailed' });
    lambda.on(InvokeCommand).rejects(Object.assign(new Error('x'), { name: 'TimeoutError' }));
    await expect(
      runRegionStep(deps, { step: 'region', regions: ['us-east-1'], request, deadline }),
    ).rejects.toMatchObject({ name: 'RegionUnreachable' });
  });

  test("an answer that is not this request's completion record is not taken", async () => {
    lambda
      .on(InvokeCommand)
      .resolves(
        answer({ record: { requestId: uuid('other'), region: 'us-east-1', outcome: 'done' } }),
      );
    await expect(
      runRegionStep(deps, { step: 'region', regions: ['us-east-1'], request, deadline }),
    ).rejects.toMatchObject({ name: 'RegionFailed' });
  });
});

describe('summary', () => {
  const done = (region: string, database: 'writer' | 'reader') => ({
    region,
    outcome: 'done',
    database,
    onTime: true,
  });

  test('takes no outcome of a region outside its cell', () => {
    expect(() =>
      summarize(config, {
        step: 'summary',
        request,
        deadline,
        results: { eu: [done('eu-west-1', 'writer'), done('us-east-1', 'writer')] },
      }),
    ).toThrow(/results\.eu: expected region outcomes of cell eu/);
  });

  test('an erasure is complete when every region acted and each cell had its writer', () => {
    const at = new Date('2026-12-07T12:00:00Z');
    const full = {
      eu: [done('eu-west-1', 'writer'), done('eu-central-1', 'reader')],
      us: [done('us-east-1', 'writer')],
    };
    expect(
      summarize(config, { step: 'summary', request, deadline, results: full }, at),
    ).toMatchObject({
      outcome: 'complete',
      onTime: true,
      gaps: [],
    });
    const missing = { eu: [done('eu-west-1', 'writer')], us: [done('us-east-1', 'reader')] };
    expect(
      summarize(config, { step: 'summary', request, deadline, results: missing }, at).gaps,
    ).toEqual([
      'eu-central-1: no step ran there',
      'cell us: no region answered as its writer, so its tables are not erased (a failover under way?): run the request again once the cell has one',
    ]);
    // Past the deadline: still complete, but not on time.
    expect(
      summarize(
        config,
        { step: 'summary', request, deadline, results: full },
        new Date('2027-02-01'),
      ).onTime,
    ).toBe(false);
  });
});

test("a cell's results are read under the key the machine writes them to", () => {
  const hyphenated: RelayConfig = {
    ...config,
    cells: [{ cell: 'eu-gdpr', regions: [{ region: 'eu-west-1', functionName: 'f' }] }],
  };
  const results = {
    [resultKey('eu-gdpr')]: [{ region: 'eu-west-1', outcome: 'done', database: 'writer' }],
  };
  expect(resultKey('eu-gdpr')).toBe('eu_gdpr');
  expect(summarize(hyphenated, { step: 'summary', request, deadline, results }).outcome).toBe(
    'complete',
  );
});

test('the environment names cells of regions and function names, or nothing', () => {
  expect(parseRelayCells(JSON.stringify(config.cells))).toEqual(config.cells);
  expect(parseRelayCells('[]')).toBeUndefined();
  expect(
    parseRelayCells('[{"cell":"eu","regions":[{"region":"eu-west-1","functionName":"a b"}]}]'),
  ).toBeUndefined();
  expect(parseRelayCells('{')).toBeUndefined();
});
