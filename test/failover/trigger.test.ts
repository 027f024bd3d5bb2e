import {
  type ExecutionListItem,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import {
  type AlarmStateChange,
  onRegionDown,
  readTriggerConfig,
  stateChangeTime,
  type TriggerClients,
  type TriggerConfig,
} from '../../lambda/shared/failover/trigger';

const MACHINE =
  'arn:aws:states:eu-central-1:111111111111:stateMachine:meridian-prod-eu-central-1-failover';
const TOPICS = {
  critical: 'arn:aws:sns:eu-central-1:111111111111:meridian-prod-eu-central-1-alerts-critical',
  info: 'arn:aws:sns:eu-central-1:111111111111:meridian-prod-eu-central-1-alerts-info',
};
const ALARM = 'meridian-prod-eu-west-1-region-down';
const config = (start: TriggerConfig['start']): TriggerConfig => ({
  region: 'eu-central-1',
  cell: 'eu',
  start,
  minMinutesBetweenStarts: 30,
  stateMachineArn: MACHINE,
  topics: TOPICS,
  alarms: { [ALARM]: 'eu-west-1' },
});

/** The event as CloudWatch sends it for a composite alarm (fields the trigger does not read left out). */
const event = (at: string, value = 'ALARM', alarmName = ALARM): AlarmStateChange => ({
  'detail-type': 'CloudWatch Alarm State Change',
  time: `${at.slice(0, 19)}Z`,
  detail: {
    alarmName,
    state: {
      value,
      reason:
        'arn:aws:cloudwatch:eu-central-1:111111111111:alarm:meridian-prod-eu-west-1-critical-endpoint transitioned to ALARM',
      timestamp: `${at}+0000`,
    },
  },
});
const DETECTED = '2025-06-01T12:00:30.125';
const DETECTED_MS = Date.UTC(2025, 5, 1, 12, 0, 30, 125);

const sfn = mockClient(SFNClient);
const sns = mockClient(SNSClient);
let now = DETECTED_MS + 2_000;
const clients: TriggerClients = {
  sfn: new SFNClient({ region: 'eu-central-1' }),
  sns: new SNSClient({ region: 'eu-central-1' }),
  now: () => now,
};

/** Step Functions with these executions (newest first, as ListExecutions returns them). */
function executions(list: ExecutionListItem[]) {
  sfn.on(ListExecutionsCommand).resolves({ executions: list });
}
const started = () => sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
const messages = () =>
  sns
    .commandCalls(PublishCommand)
    .map((c) => c.args[0].input as { TopicArn: string; Subject: string; Message: string });

beforeEach(() => {
  sfn.reset();
  sns.reset();
  now = DETECTED_MS + 2_000;
  sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
  sfn.on(StartExecutionCommand).callsFake(async (input) => ({
    executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:${input.name}`,
    startDate: new Date(now),
  }));
});

describe('auto: start the runbook, damped', () => {
  test('starts once, named auto-<region>-<UTC of the alarm>, with the input the runbook reads', async () => {
    executions([]);
    const outcome = await onRegionDown(config('auto'), clients, event(DETECTED));
    const input = {
      cell: 'eu',
      failedRegion: 'eu-west-1',
      mode: 'auto',
      detectedAt: DETECTED_MS,
      reason: `region-down alarm ${ALARM}`,
    };
    expect(started()).toEqual([
      {
        stateMachineArn: MACHINE,
        name: 'auto-eu-west-1-20250601T120030',
        input: JSON.stringify(input),
      },
    ]);
    expect(outcome).toEqual({
      action: 'started',
      execution: 'auto-eu-west-1-20250601T120030',
      executionArn: `${MACHINE.replace(':stateMachine:', ':execution:')}:auto-eu-west-1-20250601T120030`,
      input,
    });
    // For the record (info): the composite alarm itself already paged.
    expect(messages().map((m) => [m.TopicArn, m.Subject])).toEqual([
      [TOPICS.info, 'Meridian: failover runbook started for eu-west-1'],
    ]);
  });

  test('a second alarm within minMinutesBetweenStarts is damped: nothing started, an info message says why', async () => {
    executions([
      {
        executionArn: 'x',
        stateMachineArn: MACHINE,
        name: 'failover-us-east-1-20250601T120000',
        status: 'RUNNING',
        startDate: new Date(DETECTED_MS - 60_000),
      },
      {
        executionArn: 'y',
        stateMachineArn: MACHINE,
        name: 'auto-eu-west-1-20250601T120030',
        status: 'FAILED',
        startDate: new Date(DETECTED_MS + 1_000),
      },
    ]);
    now = DETECTED_MS + 12 * 60_000;
    const outcome = await onRegionDown(config('auto'), clients, event('2025-06-01T12:12:00.000'));
    expect(started()).toEqual([]);
    expect(outcome).toEqual({
      action: 'damped',
      previous: 'auto-eu-west-1-20250601T120030',
      reason:
        'auto-eu-west-1-20250601T120030 started 12.0 min ago, within failover.minMinutesBetweenStarts (30 min) of cell eu',
    });
    const [m, ...more] = messages();
    expect(more).toEqual([]);
    expect(m?.TopicArn).toBe(TOPICS.info);
    expect(m?.Subject).toBe('Meridian: eu-west-1 down again - no runbook started (damped)');
    expect(m?.Message).toContain(
      `Nothing was started: ${outcome.action === 'damped' ? outcome.reason : ''}.`,
    );
    expect(m?.Message).toContain('--name failover-eu-west-1-20250601T121200');
  });

  test('after the window, or for another region, it starts again', async () => {
    const earlier = { executionArn: 'y', stateMachineArn: MACHINE, status: 'SUCCEEDED' as const };
    executions([
      { ...earlier, name: 'auto-eu-west-1-20250601T120030', startDate: new Date(DETECTED_MS) },
    ]);
    now = DETECTED_MS + 31 * 60_000;
    expect(
      await onRegionDown(config('auto'), clients, event('2025-06-01T12:31:30.000')),
    ).toMatchObject({
      action: 'started',
      execution: 'auto-eu-west-1-20250601T123130',
    });
    // Another region's automatic start is no reason to hold this one back.
    sfn.reset();
    executions([
      { ...earlier, name: 'auto-eu-west-10-20250601T123000', startDate: new Date(now - 60_000) },
    ]);
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'z', startDate: new Date(now) });
    expect(await onRegionDown(config('auto'), clients, event(DETECTED))).toMatchObject({
      action: 'started',
    });
  });

  test('the same alarm change delivered twice starts one execution and says nothing more', async () => {
    executions([
      {
        executionArn: 'y',
        stateMachineArn: MACHINE,
        name: 'auto-eu-west-1-20250601T120030',
        status: 'RUNNING',
        startDate: new Date(DETECTED_MS + 1_000),
      },
    ]);
    expect(await onRegionDown(config('auto'), clients, event(DETECTED))).toEqual({
      action: 'already-started',
      execution: 'auto-eu-west-1-20250601T120030',
    });
    expect(started()).toEqual([]);
    expect(messages()).toEqual([]);
  });

  test('reads past the first page of executions while they are within the window', async () => {
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({
        executions: [
          {
            executionArn: 'a',
            stateMachineArn: MACHINE,
            name: 'failback-x',
            status: 'RUNNING',
            startDate: new Date(DETECTED_MS),
          },
        ],
        nextToken: 'page-2',
      })
      .resolvesOnce({
        executions: [
          {
            executionArn: 'b',
            stateMachineArn: MACHINE,
            name: 'auto-eu-west-1-20250601T115500',
            status: 'FAILED',
            startDate: new Date(DETECTED_MS - 5 * 60_000),
          },
        ],
      });
    expect(await onRegionDown(config('auto'), clients, event(DETECTED))).toMatchObject({
      action: 'damped',
    });
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input.nextToken)).toEqual([
      undefined,
      'page-2',
    ]);
  });

  test('a start that fails pages the command instead', async () => {
    executions([]);
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const outcome = await onRegionDown(config('auto'), clients, event(DETECTED));
    expect(outcome).toMatchObject({
      action: 'start-failed',
      error: 'ThrottlingException: Rate exceeded',
    });
    const [m] = messages();
    expect(m?.TopicArn).toBe(TOPICS.critical);
    expect(m?.Message).toContain('aws stepfunctions start-execution --region eu-central-1');
  });
});

describe('approve: page the ready command', () => {
  test('publishes to the critical topic the command that starts the runbook, and starts nothing', async () => {
    const outcome = await onRegionDown(config('approve'), clients, event(DETECTED));
    const command = `aws stepfunctions start-execution --region eu-central-1 --state-machine-arn ${MACHINE} --name failover-eu-west-1-20250601T120030 --input '{"cell":"eu","failedRegion":"eu-west-1","mode":"auto","detectedAt":${DETECTED_MS},"reason":"region-down alarm ${ALARM}"}'`;
    expect(outcome).toEqual({ action: 'approval-requested', command });
    expect(sfn.commandCalls(StartExecutionCommand)).toEqual([]);
    expect(sfn.commandCalls(ListExecutionsCommand)).toEqual([]);
    const [m, ...more] = messages();
    expect(more).toEqual([]);
    expect(m?.TopicArn).toBe(TOPICS.critical);
    expect(m?.Subject).toBe('Meridian: eu-west-1 is down - approve its failover');
    expect(m?.Subject.length).toBeLessThanOrEqual(100);
    expect(m?.Message.split('\n')).toEqual([
      `The region-down alarm ${ALARM} went to ALARM at 2025-06-01T12:00:30.125Z: eu-west-1 looks down from eu-central-1 (its health endpoint fails, and Route 53's checkers do not say it is up).`,
      'Cell eu has failover.start: approve, so nothing was started. To start the runbook in eu-central-1 (it verifies the failure again before it acts), run:',
      command,
    ]);
  });
});

describe('what is not a region-down alarm going to ALARM is ignored', () => {
  test.each([
    ['back to OK', event(DETECTED, 'OK')],
    ['INSUFFICIENT_DATA', event(DETECTED, 'INSUFFICIENT_DATA')],
    ['another alarm', event(DETECTED, 'ALARM', 'meridian-prod-eu-west-1-critical-endpoint')],
    ['an alarm named like an Object member', event(DETECTED, 'ALARM', 'constructor')],
  ])('%s', async (_name, e) => {
    for (const start of ['auto', 'approve'] as const)
      expect(await onRegionDown(config(start), clients, e)).toMatchObject({ action: 'ignored' });
    expect(sfn.calls()).toEqual([]);
    expect(sns.calls()).toEqual([]);
  });
});

test('the time of the state change: the alarm’s own timestamp (+0000), else the event’s time', () => {
  expect(stateChangeTime(event(DETECTED))).toBe(DETECTED_MS);
  expect(stateChangeTime({ time: '2025-06-01T12:00:30Z' })).toBe(Date.UTC(2025, 5, 1, 12, 0, 30));
  expect(stateChangeTime({ detail: { state: { timestamp: 'soon' } } })).toBeUndefined();
});

test('the configuration, from the environment, every problem at once', () => {
  const env = {
    MERIDIAN_REGION: 'eu-central-1',
    MERIDIAN_CELL: 'eu',
    MERIDIAN_START: 'auto',
    MERIDIAN_MIN_MINUTES_BETWEEN_STARTS: '30',
    MERIDIAN_STATE_MACHINE_ARN: MACHINE,
    MERIDIAN_CRITICAL_TOPIC_ARN: TOPICS.critical,
    MERIDIAN_INFO_TOPIC_ARN: TOPICS.info,
    MERIDIAN_ALARMS: JSON.stringify({ [ALARM]: 'eu-west-1' }),
  };
  expect(readTriggerConfig(env)).toEqual(config('auto'));
  expect(() =>
    readTriggerConfig({
      ...env,
      MERIDIAN_START: 'sometimes',
      MERIDIAN_MIN_MINUTES_BETWEEN_STARTS: '0',
    }),
  ).toThrow(
    [
      'failover-trigger: invalid configuration:',
      '  MERIDIAN_START: got "sometimes"; expected auto or approve',
      '  MERIDIAN_MIN_MINUTES_BETWEEN_STARTS: got "0"; expected an integer from 1 to 1440',
    ].join('\n'),
  );
});

test('the handler reads its configuration once and handles the event', async () => {
  const saved = { ...process.env };
  try {
    Object.assign(process.env, {
      MERIDIAN_REGION: 'eu-central-1',
      MERIDIAN_CELL: 'eu',
      MERIDIAN_START: 'approve',
      MERIDIAN_MIN_MINUTES_BETWEEN_STARTS: '30',
      MERIDIAN_STATE_MACHINE_ARN: MACHINE,
      MERIDIAN_CRITICAL_TOPIC_ARN: TOPICS.critical,
      MERIDIAN_INFO_TOPIC_ARN: TOPICS.info,
      MERIDIAN_ALARMS: JSON.stringify({ [ALARM]: 'eu-west-1' }),
    });
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const { handler } =
      require('../../lambda/failover-trigger/index') as typeof import('../../lambda/failover-trigger/index');
    await expect(handler(event(DETECTED))).resolves.toMatchObject({ action: 'approval-requested' });
    expect(messages().map((m) => m.TopicArn)).toEqual([TOPICS.critical]);
  } finally {
    process.env = saved;
    jest.restoreAllMocks();
  }
});
