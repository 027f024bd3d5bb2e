import {
  CloudWatchClient,
  type MetricDatum,
  PutMetricDataCommand,
} from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  GetHealthCheckStatusCommand,
  type HealthCheck,
  ListHealthChecksCommand,
  ListTagsForResourcesCommand,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { mockClient } from 'aws-sdk-client-mock';
import { sampleBodies } from '../../lambda/health/report';
import { castVote } from '../../lambda/shared/failover/votes';
import {
  DETECTION,
  LONGEST_RUN_MS,
  readWatchConfig,
  type WatchClients,
  type WatchConfig,
  watch,
} from '../../lambda/shared/failover/watch';
import { FakeDynamoDb } from '../../lib/failover/drill/fake-dynamodb';

const T0 = Date.UTC(2025, 5, 1, 12, 0, 0);
const CONFIG: WatchConfig = {
  region: 'eu-central-1',
  controlUrl: 'https://eu-central-1.example.com/health',
  watched: { 'eu-west-1': 'https://eu-west-1.example.com/health' },
};

const route53 = mockClient(Route53Client);
const cloudwatch = mockClient(CloudWatchClient);

type Answer = { status: number; body: string } | 'timeout';
const healthy: Answer = { status: 200, body: sampleBodies('eu-west-1').healthy };
const unhealthy: Answer = { status: 503, body: sampleBodies('eu-west-1').unhealthy };

/** A world: what each URL answers (per round, by round index), on a clock the watch advances. */
function world(answers: Record<string, Answer | ((round: number) => Answer)>) {
  let now = T0;
  const fetchFn = (async (url: string | URL | Request) => {
    const round = Math.floor((now - T0) / 10_000);
    const a = answers[String(url)];
    const answer = typeof a === 'function' ? a(round) : a;
    if (!answer || answer === 'timeout')
      throw new Error('The operation was aborted due to timeout');
    return new Response(answer.body, { status: answer.status });
  }) as typeof fetch;
  const clients: WatchClients = {
    route53: new Route53Client({ region: 'us-east-1' }),
    cloudwatch: new CloudWatchClient({ region: 'eu-central-1' }),
    fetch: fetchFn,
    now: () => now,
    sleep: async (ms) => {
      now += ms;
    },
  };
  return { clients, deadline: T0 + 60_000 };
}

const check = (id: string): HealthCheck =>
  ({
    Id: id,
    CallerReference: id,
    HealthCheckVersion: 1,
    HealthCheckConfig: { Type: 'HTTPS_STR_MATCH' },
  }) as HealthCheck;
const observations = (statuses: string[]) => ({
  HealthCheckObservations: statuses.map((Status, i) => ({
    Region: 'us-east-1' as const,
    IPAddress: `15.177.0.${i}`,
    StatusReport: { Status },
  })),
});

/** Route 53 as it is when us-east-1 answers: one tagged check, `statuses` from its checkers. */
function route53Answers(statuses: string[]) {
  route53.on(ListHealthChecksCommand).resolves({
    HealthChecks: [check('hc-euw1')],
    IsTruncated: false,
    Marker: '',
    MaxItems: 100,
  });
  route53.on(ListTagsForResourcesCommand).resolves({
    ResourceTagSets: [
      {
        ResourceType: 'healthcheck',
        ResourceId: 'hc-euw1',
        Tags: [{ Key: 'meridian:region', Value: 'eu-west-1' }],
      },
    ],
  });
  route53.on(GetHealthCheckStatusCommand).resolves(observations(statuses));
}

/** The datapoints of every PutMetricData call, one array per call. */
const published = (): MetricDatum[][] =>
  cloudwatch.commandCalls(PutMetricDataCommand).map((c) => {
    expect(c.args[0].input.Namespace).toBe('Meridian/Watch');
    return c.args[0].input.MetricData ?? [];
  });
const values = (name: string) =>
  published().map((round) => round.find((d) => d.MetricName === name)?.Value);

beforeEach(() => {
  route53.reset();
  cloudwatch.reset();
  cloudwatch.on(PutMetricDataCommand).resolves({});
});

describe('the region watch', () => {
  test('six rounds 10 s apart, each publishing EndpointHealthy and CheckersHealthy at high resolution', async () => {
    route53Answers([
      'Success: HTTP Status Code 200, OK',
      'Success: HTTP Status Code 200, OK',
      'Failure: Connection timed out',
    ]);
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: healthy,
    });
    const rounds = await watch(CONFIG, w.clients, new Map(), w.deadline);
    expect(rounds).toHaveLength(DETECTION.rounds);
    const calls = published();
    expect(calls).toHaveLength(6);
    calls.forEach((round, i) => {
      expect(round).toEqual([
        {
          MetricName: 'EndpointHealthy',
          Dimensions: [{ Name: 'Region', Value: 'eu-west-1' }],
          Timestamp: new Date(T0 + i * 10_000),
          Value: 1,
          StorageResolution: 1,
        },
        {
          MetricName: 'CheckersHealthy',
          Dimensions: [{ Name: 'Region', Value: 'eu-west-1' }],
          Timestamp: new Date(T0 + i * 10_000),
          Value: 2 / 3,
          StorageResolution: 1,
        },
      ]);
    });
    // The health check is looked up once, its status read every round.
    expect(route53.commandCalls(ListHealthChecksCommand)).toHaveLength(1);
    expect(route53.commandCalls(GetHealthCheckStatusCommand)).toHaveLength(6);
  });

  test('an endpoint that fails (503, a body without the marker, a timeout) publishes 0', async () => {
    route53Answers(['Failure: HTTP Status Code 503']);
    const url = CONFIG.watched['eu-west-1'] as string;
    const sequence: Answer[] = [
      healthy,
      unhealthy,
      { status: 200, body: '<html>maintenance</html>' },
      'timeout',
      { status: 200, body: '{"status":"healthy"}' },
      healthy,
    ];
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [url]: (round) => sequence[round] ?? 'timeout',
    });
    await watch(CONFIG, w.clients, new Map(), w.deadline);
    expect(values('EndpointHealthy')).toEqual([1, 0, 0, 0, 0, 1]);
    expect(values('CheckersHealthy')).toEqual([0, 0, 0, 0, 0, 0]);
  });

  test('Route 53’s API unreachable (us-east-1 down): EndpointHealthy still published, no CheckersHealthy datapoint', async () => {
    route53
      .on(ListHealthChecksCommand)
      .rejects(new Error('connect ETIMEDOUT route53.amazonaws.com'));
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: 'timeout',
    });
    const rounds = await watch(CONFIG, w.clients, new Map(), w.deadline);
    expect(
      published()
        .flat()
        .map((d) => `${d.MetricName}=${d.Value}`),
    ).toEqual(Array(6).fill('EndpointHealthy=0'));
    expect(rounds[0]?.seen[0]?.detail.checkers).toBe(
      'Route 53 API: connect ETIMEDOUT route53.amazonaws.com',
    );
  });

  test('the lookup answers but the status call fails: still no CheckersHealthy datapoint', async () => {
    route53Answers([]);
    route53.on(GetHealthCheckStatusCommand).rejects(new Error('Throttling'));
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: healthy,
    });
    await watch(CONFIG, w.clients, new Map(), w.deadline);
    expect(values('CheckersHealthy')).toEqual(Array(6).fill(undefined));
    expect(values('EndpointHealthy')).toEqual(Array(6).fill(1));
  });

  test('no checker observation, or no tagged health check: no CheckersHealthy datapoint', async () => {
    route53Answers([]);
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: healthy,
    });
    await watch(CONFIG, w.clients, new Map(), T0 + 5_000);
    expect(values('CheckersHealthy')).toEqual([undefined]);
    route53.reset();
    cloudwatch.on(PutMetricDataCommand).resolves({});
    route53
      .on(ListHealthChecksCommand)
      .resolves({ HealthChecks: [], IsTruncated: false, Marker: '', MaxItems: 100 });
    const rounds = await watch(CONFIG, w.clients, new Map(), w.clients.now() + 5_000);
    expect(rounds[0]?.seen[0]?.checkers).toBeUndefined();
    expect(rounds[0]?.seen[0]?.detail.checkers).toBe(
      'no Route 53 health check is tagged with region eu-west-1',
    );
  });

  test('this region cannot see out (its own endpoint does not answer): a failed probe is not counted', async () => {
    route53.on(ListHealthChecksCommand).rejects(new Error('connect ETIMEDOUT'));
    const w = world({
      [CONFIG.controlUrl]: 'timeout',
      [CONFIG.watched['eu-west-1'] as string]: 'timeout',
    });
    const rounds = await watch(CONFIG, w.clients, new Map(), w.deadline);
    expect(rounds).toHaveLength(6);
    // Nothing could be said: nothing published, so the alarms see missing data, not a failure.
    expect(published()).toEqual([]);
    expect(rounds[0]?.seen[0]?.detail.endpoint).toBe('not counted: eu-central-1 cannot see out');
    // Its own endpoint answering unhealthy still proves this region can see out.
    const w2 = world({
      [CONFIG.controlUrl]: unhealthy,
      [CONFIG.watched['eu-west-1'] as string]: 'timeout',
    });
    await watch(CONFIG, w2.clients, new Map(), T0 + 5_000);
    expect(values('EndpointHealthy')).toEqual([0]);
  });

  test('a health check Route 53 no longer knows is looked up again', async () => {
    route53Answers(['Success: HTTP Status Code 200, OK']);
    const notFound = Object.assign(new Error('A health check with id hc-gone does not exist'), {
      name: 'NoSuchHealthCheck',
    });
    route53.on(GetHealthCheckStatusCommand, { HealthCheckId: 'hc-gone' }).rejects(notFound);
    const ids = new Map([['eu-west-1', 'hc-gone']]);
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: healthy,
    });
    await watch(CONFIG, w.clients, ids, T0 + 15_000);
    expect(values('CheckersHealthy')).toEqual([undefined, 1]);
    expect(ids.get('eu-west-1')).toBe('hc-euw1');
  });

  test('a round that could not finish before the deadline is not started', async () => {
    route53Answers(['Success: HTTP Status Code 200, OK']);
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: healthy,
    });
    expect(await watch(CONFIG, w.clients, new Map(), T0 + 4_999)).toHaveLength(0);
    expect(await watch(CONFIG, w.clients, new Map(), w.clients.now() + 25_000)).toHaveLength(3);
    // The longest run fits in a minute, so runs of the schedule do not overlap.
    expect(LONGEST_RUN_MS).toBeLessThan(60_000);
  });

  test('every watched region in each round; PutMetricData failing is reported, not thrown', async () => {
    route53Answers(['Success: HTTP Status Code 200, OK']);
    cloudwatch.on(PutMetricDataCommand).rejects(new Error('ServiceUnavailable'));
    const two: WatchConfig = {
      ...CONFIG,
      watched: { ...CONFIG.watched, 'eu-south-1': 'https://eu-south-1.example.com/health' },
    };
    const w = world({
      [CONFIG.controlUrl]: healthy,
      [CONFIG.watched['eu-west-1'] as string]: healthy,
    });
    const rounds = await watch(two, w.clients, new Map(), T0 + 5_000);
    expect(rounds[0]?.error).toBe('ServiceUnavailable');
    expect(rounds[0]?.seen.map((s) => [s.region, s.endpoint])).toEqual([
      ['eu-west-1', true],
      ['eu-south-1', false],
    ]);
    expect(published()[0]?.map((d) => d.Dimensions?.[0]?.Value)).toEqual([
      'eu-west-1',
      'eu-west-1',
      'eu-south-1',
    ]);
  });
});

describe('the watch configuration', () => {
  test('read from the environment', () => {
    expect(
      readWatchConfig({
        MERIDIAN_REGION: 'eu-central-1',
        MERIDIAN_CONTROL_URL: CONFIG.controlUrl,
        MERIDIAN_WATCHED: JSON.stringify(CONFIG.watched),
      }),
    ).toEqual(CONFIG);
  });

  test('every problem at once', () => {
    expect(() =>
      readWatchConfig({
        MERIDIAN_REGION: 'mars',
        MERIDIAN_CONTROL_URL: 'http://eu-central-1.example.com/health',
        MERIDIAN_WATCHED: JSON.stringify({ nowhere: 'https://x.example.com/health' }),
      }),
    ).toThrow(
      [
        'failover-watch: invalid configuration:',
        '  MERIDIAN_REGION: got "mars"; expected an AWS region id',
        '  MERIDIAN_CONTROL_URL: got "http://eu-central-1.example.com/health"; expected an https:// URL (this region’s own health endpoint)',
        '  MERIDIAN_WATCHED: got regions ["nowhere"]; expected at least one, each an AWS region id',
      ].join('\n'),
    );
  });
});

describe('the handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
    jest.restoreAllMocks();
  });

  test('runs the rounds that fit in the invocation and says what it published', async () => {
    route53Answers(['Success: HTTP Status Code 200, OK']);
    Object.assign(process.env, {
      MERIDIAN_REGION: CONFIG.region,
      MERIDIAN_CONTROL_URL: CONFIG.controlUrl,
      MERIDIAN_WATCHED: JSON.stringify(CONFIG.watched),
    });
    jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    jest
      .spyOn(global, 'fetch')
      .mockImplementation(async () => new Response(healthy.body, { status: 200 }));
    const { handler } =
      require('../../lambda/failover-watch/index') as typeof import('../../lambda/failover-watch/index');
    await expect(handler({}, { getRemainingTimeInMillis: () => 6_000 })).resolves.toEqual({
      rounds: 1,
      published: 2,
    });
  });
});

describe('the watch votes: its view goes into the strongly consistent store, the count comes out', () => {
  const VOTED: WatchConfig = {
    ...CONFIG,
    votes: {
      'eu-west-1': {
        table: 'meridian-prod-eu-runbook-lock',
        endpoints: ['eu-central-1', 'eu-west-1'],
        watchers: ['eu-central-1', 'me-central-1', 'us-east-1'],
      },
    },
  };
  let fake: FakeDynamoDb;
  beforeEach(() => {
    fake = new FakeDynamoDb();
    route53Answers(['Failure: Connection timed out']);
  });
  afterEach(() => fake.restore());
  const dynamodb = (r: string) => new DynamoDBClient({ region: r });
  /** One minute of the voting watch while eu-west-1 times out; `control` is this region's view out. */
  const voting = (control: Answer = healthy, store: WatchClients['dynamodb'] = dynamodb) => {
    const w = world({
      [CONFIG.controlUrl]: control,
      [CONFIG.watched['eu-west-1'] as string]: 'timeout',
    });
    return watch(VOTED, { ...w.clients, dynamodb: store }, new Map(), w.deadline);
  };

  test('alone, it never makes a majority: WatchersDown 0, 1 … but the alarm needs 2', async () => {
    const rounds = await voting();
    // Its own vote counts from its second round on (VOTE.streak), and it is one of three.
    expect(values('WatchersDown')).toEqual([0, 1, 1, 1, 1, 1]);
    expect(rounds[5]?.seen[0]?.detail.votes).toBe('1 of 3 watchers say down (majority 2), 0 up');
  });

  test('with a second watcher seeing it down, the count reaches the majority', async () => {
    const store = VOTED.votes?.['eu-west-1'];
    if (!store) throw new Error('fixture');
    await castVote(store, dynamodb, 'eu-west-1', 'us-east-1', true, T0 - 15_000);
    await castVote(store, dynamodb, 'eu-west-1', 'us-east-1', true, T0 - 5_000);
    await voting();
    // us-east-1's votes go stale after VOTE.freshMs: the count falls back to this watcher's alone.
    expect(values('WatchersDown')).toEqual([1, 2, 2, 1, 1, 1]);
  });

  test('a watcher that cannot see out casts no vote and publishes no count', async () => {
    await voting('timeout');
    expect(values('WatchersDown')).toEqual(Array(6).fill(undefined));
    expect(fake.table('meridian-prod-eu-runbook-lock').size).toBe(0);
  });

  test('a store that does not answer: no count (missing, never down), the reason in the round', async () => {
    const rounds = await voting(healthy, () => {
      throw Object.assign(new Error('connect ETIMEDOUT'), { name: 'TimeoutError' });
    });
    expect(values('WatchersDown')).toEqual(Array(6).fill(undefined));
    expect(rounds[0]?.seen[0]?.detail.votes).toBe(
      'vote store meridian-prod-eu-runbook-lock: TimeoutError',
    );
  });
});
