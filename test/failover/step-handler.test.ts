import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { RDSClient } from '@aws-sdk/client-rds';
import { stepHandler } from '../../lambda/shared/failover/handler';
import type { RunbookState } from '../../lambda/shared/failover/steps';
import { oneRegionRunbook } from '../support/runbook-config';

const RUNBOOK = oneRegionRunbook('eu-central-1');
const state: RunbookState = {
  execution: 'exec-1',
  input: {
    cell: 'eu',
    failedRegion: 'eu-west-1',
    mode: 'auto',
    reason: 'customer jane.doe@example.com reported errors',
  },
};

const saved = { ...process.env };
let lines: Record<string, unknown>[];
beforeEach(() => {
  Object.assign(process.env, {
    MERIDIAN_RUNBOOK: JSON.stringify(RUNBOOK),
    POWERTOOLS_SERVICE_NAME: 'failover-fence',
  });
  lines = [];
  const capture = (chunk: unknown) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    return true;
  };
  jest.spyOn(process.stdout, 'write').mockImplementation(capture);
  jest.spyOn(process.stderr, 'write').mockImplementation(capture);
});
afterEach(() => {
  jest.restoreAllMocks();
  process.env = { ...saved };
});

const logs = () => lines.filter((l) => 'level' in l);
const metrics = () => lines.filter((l) => '_aws' in l);

describe('runbook step handlers: Powertools Logger and Metrics', () => {
  test('a step that succeeds logs one line with the execution ids and publishes its metrics', async () => {
    const handler = stepHandler(() => ({ done: true }));
    await expect(handler(state)).resolves.toEqual({ done: true });
    expect(logs()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'step done',
        service: 'failover-fence',
        execution: 'exec-1',
        cell: 'eu',
        failedRegion: 'eu-west-1',
        mode: 'auto',
      }),
    ]);
    expect(metrics()).toEqual([
      expect.objectContaining({
        _aws: expect.objectContaining({
          CloudWatchMetrics: [
            expect.objectContaining({
              Namespace: 'Meridian/Runbook',
              Dimensions: [['service', 'Region']],
            }),
          ],
        }),
        service: 'failover-fence',
        Region: 'eu-central-1',
        StepSucceeded: 1,
        StepDuration: expect.any(Number),
      }),
    ]);
  });

  test('a step that fails logs the error and counts StepFailed; the error is rethrown', async () => {
    const handler = stepHandler(() => {
      throw new Error('the runbook does not hold the lock');
    });
    await expect(handler(state)).rejects.toThrow('the runbook does not hold the lock');
    expect(logs()).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        message: 'step failed',
        error: { name: 'Error', message: 'the runbook does not hold the lock' },
      }),
    ]);
    expect(metrics()).toEqual([expect.objectContaining({ StepFailed: 1 })]);
    expect(metrics()[0]).not.toHaveProperty('StepSucceeded');
  });

  test("neither the operator's free-text reason nor the step's result reaches the log", async () => {
    const handler = stepHandler(() => ({ note: 'secret-result-value' }));
    await handler(state);
    const out = JSON.stringify(lines);
    expect(out).not.toContain('jane.doe');
    expect(out).not.toContain('secret-result-value');
  });

  test('the step gets the clients it declared, regional ones by region', async () => {
    let seen: unknown[] = [];
    const handler = stepHandler(
      (_c, k) => {
        seen = [k.dynamodb('eu-central-1'), k.rds('eu-west-1'), k.rds('eu-west-1')];
      },
      () => ({
        dynamodb: (region) => new DynamoDBClient({ region }),
        rds: (region) => new RDSClient({ region }),
      }),
    );
    await handler(state);
    expect(seen[0]).toBeInstanceOf(DynamoDBClient);
    expect(seen[1]).toBeInstanceOf(RDSClient);
    expect(await (seen[1] as RDSClient).config.region()).toBe('eu-west-1');
  });
});
