import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DETECTION, WATCH_NAMESPACE } from '../../lambda/shared/failover/watch';
import { regionDownRule, regionWatchPlan } from '../../lib/failover/region-watch';
import { runnerRegion } from '../../lib/failover/runner';
import { watchedBy, watchersOf } from '../../lib/failover/watchers';
import { Naming } from '../../lib/naming';
import { buildApp } from '../support/app';
import { copyRegions, EIGHT_REGIONS, edit, load, MINIMAL } from '../support/fixture';

/** Detection and start: templates of the minimal fixture (eu-west-1 ⇄ eu-central-1, us-east-1 alone). */
const config = load(MINIMAL);
const built = buildApp(config);
const naming = new Naming('meridian', 'prod');

const alarmsNamed = (t: Template, prefix: string) =>
  Object.values(t.findResources('AWS::CloudWatch::Alarm'))
    .map((a) => String(a.Properties.AlarmName))
    .filter((n) => n.startsWith(prefix))
    .sort();
const composites = (t: Template) =>
  Object.values(t.findResources('AWS::CloudWatch::CompositeAlarm'));
const statementsOf = (t: Template, roleLogicalIdPrefix: string) =>
  Object.entries(t.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(roleLogicalIdPrefix))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
const sid = (statements: { Sid?: string }[], name: string) =>
  statements.find((s) => s.Sid === name);

describe('who watches whom', () => {
  const eight = load(EIGHT_REGIONS);

  test('every region is watched by three others, the takeover region first, never by itself', () => {
    const of = Object.fromEntries(eight.regions.map((r) => [r.id, watchersOf(eight, r.id)]));
    expect(of).toEqual({
      'ap-south-1': ['ap-south-2', 'ap-southeast-1', 'eu-central-1'],
      'ap-south-2': ['ap-south-1', 'ap-southeast-1', 'eu-central-1'],
      'ap-southeast-1': ['eu-central-1', 'eu-west-1', 'me-central-1'],
      'eu-central-1': ['eu-west-1', 'me-central-1', 'us-east-1'],
      'eu-west-1': ['eu-central-1', 'me-central-1', 'us-east-1'],
      'me-central-1': ['us-east-1', 'us-west-2', 'ap-south-1'],
      'us-east-1': ['us-west-2', 'ap-south-1', 'ap-south-2'],
      'us-west-2': ['us-east-1', 'ap-south-1', 'ap-south-2'],
    });
    for (const r of eight.regions) {
      const watchers = watchersOf(eight, r.id);
      expect(new Set(watchers).size).toBe(3);
      expect(watchers).not.toContain(r.id);
      // A region alone in its cell is watched too: its outage pages.
      if (runnerRegion(eight, r.id) !== r.id) expect(watchers[0]).toBe(runnerRegion(eight, r.id));
      for (const w of watchers) expect(watchedBy(eight, w)).toContain(r.id);
    }
  });

  test('the India cut-off: the takeover region is one vote of three, the others see the writer', () => {
    const watchers = watchersOf(eight, 'ap-south-1');
    expect(watchers).toContain('ap-south-2');
    expect(watchers.filter((w) => w !== 'ap-south-2')).toHaveLength(2);
  });

  test('fewer regions than watchers: every other region watches', () => {
    expect(config.regions.map((r) => [r.id, watchersOf(config, r.id)])).toEqual([
      ['eu-central-1', ['eu-west-1', 'us-east-1']],
      ['eu-west-1', ['eu-central-1', 'us-east-1']],
      ['us-east-1', ['eu-central-1', 'eu-west-1']],
    ]);
  });

  test('the plan: health URLs, the control probe, the vote store, the cell’s start settings', () => {
    expect(regionWatchPlan(config, 'eu-central-1')).toEqual({
      region: 'eu-central-1',
      cell: 'eu',
      controlUrl: 'https://eu-central-1.example.com/health',
      watched: [
        {
          region: 'eu-west-1',
          healthUrl: 'https://eu-west-1.example.com/health',
          runner: 'eu-central-1',
          startCommand: expect.stringContaining('--region eu-central-1 '),
          votes: {
            store: {
              table: 'meridian-prod-eu-runbook-lock',
              endpoints: ['eu-central-1', 'eu-west-1'],
            },
            account: '111111111111',
            watchers: ['eu-central-1', 'us-east-1'],
          },
        },
        {
          region: 'us-east-1',
          healthUrl: 'https://us-east-1.example.com/health',
          runner: 'us-east-1',
          votes: {
            // us-east-1 is alone in its cell: its lock (and the votes) live in the EU set.
            store: {
              table: 'meridian-prod-us-runbook-lock',
              endpoints: ['eu-central-1', 'eu-west-1'],
            },
            account: '111111111111',
            watchers: ['eu-central-1', 'eu-west-1'],
          },
        },
      ],
      start: 'approve',
      minMinutesBetweenStarts: 30,
    });
    const dir = copyRegions(MINIMAL);
    edit(
      dir,
      'global.yaml',
      'name: EU\n',
      'name: EU\n    failover: {start: auto, minMinutesBetweenStarts: 10}\n',
    );
    expect(regionWatchPlan(load(dir), 'eu-west-1')).toMatchObject({
      watched: [
        expect.objectContaining({ region: 'eu-central-1', runner: 'eu-west-1' }),
        expect.objectContaining({ region: 'us-east-1', runner: 'us-east-1' }),
      ],
      start: 'auto',
      minMinutesBetweenStarts: 10,
    });
  });
});

describe.each([
  ['eu-west-1', 'eu-central-1'],
  ['eu-central-1', 'eu-west-1'],
])('%s watched from %s', (watched, runner) => {
  const t = () => built.template(runner);

  test('every watcher has its signal, majority and composite alarms; the region itself none', () => {
    const names = [
      naming.criticalAlarm(watched, 'checkers'),
      naming.criticalAlarm(watched, 'endpoint'),
      naming.criticalAlarm(watched, 'watchers'),
    ];
    const where = (name: string) =>
      config.regions
        .map((r) => r.id)
        .filter((r) => alarmsNamed(built.template(r), name).length > 0);
    const watchers = watchersOf(config, watched).sort();
    expect(watchers).toContain(runner);
    for (const name of names) expect(where(name)).toEqual(watchers);
    expect(
      config.regions
        .map((r) => r.id)
        .filter((r) =>
          composites(built.template(r)).some(
            (c) => c.Properties.AlarmName === naming.regionDownAlarm(watched),
          ),
        ),
    ).toEqual(watchers);
  });

  test('the majority alarm: WatchersDown at least a majority of the watchers, one datapoint of 10 s, missing stays missing', () => {
    for (const region of watchersOf(config, watched))
      built.template(region).hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: naming.criticalAlarm(watched, 'watchers'),
        Namespace: WATCH_NAMESPACE,
        MetricName: 'WatchersDown',
        Dimensions: [{ Name: 'Region', Value: watched }],
        Statistic: 'Maximum',
        Period: DETECTION.probeSeconds,
        EvaluationPeriods: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 2,
        TreatMissingData: 'missing',
      });
  });

  test('the signals: high-resolution, 3 of 3 datapoints of 10 s, missing data stays missing', () => {
    for (const [signal, metric, threshold] of [
      ['endpoint', 'EndpointHealthy', 1],
      ['checkers', 'CheckersHealthy', 0.5],
    ] as const)
      t().hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: naming.criticalAlarm(watched, signal),
        Namespace: WATCH_NAMESPACE,
        MetricName: metric,
        Dimensions: [{ Name: 'Region', Value: watched }],
        Statistic: 'Maximum',
        Period: DETECTION.probeSeconds,
        EvaluationPeriods: DETECTION.datapoints,
        DatapointsToAlarm: DETECTION.datapoints,
        ComparisonOperator: 'LessThanThreshold',
        Threshold: threshold,
        TreatMissingData: 'missing',
      });
    expect([DETECTION.probeSeconds, DETECTION.datapoints]).toEqual([10, 3]);
  });

  test('the composite: a majority of watchers, paging the critical topic with the command that starts the runbook', () => {
    const [down, ...more] = composites(t()).filter(
      (c) => c.Properties.AlarmName === naming.regionDownAlarm(watched),
    );
    expect(more).toEqual([]);
    expect(down?.Properties.AlarmRule).toBe(`ALARM("meridian-prod-${watched}-critical-watchers")`);
    expect(down?.Properties.AlarmRule).toBe(regionDownRule(naming, watched));
    const critical = Object.keys(
      t().findResources('AWS::SNS::Topic', {
        Properties: { TopicName: `meridian-prod-${runner}-alerts-critical` },
      }),
    );
    expect(down?.Properties.AlarmActions).toEqual([{ Ref: critical[0] }]);
    expect(down?.Properties.OKActions).toEqual([{ Ref: critical[0] }]);
    // Created after the alarm its rule names (by name, so CloudFormation must be told).
    expect(down?.DependsOn).toEqual(
      Object.entries(t().findResources('AWS::CloudWatch::Alarm'))
        .filter(([, a]) => a.Properties.AlarmName === naming.criticalAlarm(watched, 'watchers'))
        .map(([id]) => id),
    );
    const description = String(down?.Properties.AlarmDescription);
    expect(description).toContain(
      `aws stepfunctions start-execution --region ${runner} --state-machine-arn arn:aws:states:${runner}:111111111111:stateMachine:meridian-prod-${runner}-failover --name failover-${watched}-$(date -u +%Y%m%dT%H%M%S) --input '{"cell":"eu","failedRegion":"${watched}","mode":"auto","reason":"region-down alarm meridian-prod-${watched}-region-down"}'`,
    );
    expect(description).toContain('failover.start: approve');
    expect(description.length).toBeLessThanOrEqual(1024);
    // A watcher outside the cell pages too, and says where the runbook runs.
    const other = watchersOf(config, watched).find((w) => w !== runner) as string;
    const elsewhere = composites(built.template(other)).find(
      (c) => c.Properties.AlarmName === naming.regionDownAlarm(watched),
    );
    expect(String(elsewhere?.Properties.AlarmDescription)).toContain(
      `The runbook runs in ${runner}`,
    );
  });
});

describe('in the runner region', () => {
  const t = () => built.template('eu-central-1');
  const fn = (service: string) =>
    Object.entries(t().findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
    ) ?? [];

  test('the watch runs every minute, without retries, for under a minute', () => {
    const [id, watch] = fn('failover-watch');
    expect(watch?.Properties.Timeout).toBeLessThanOrEqual(60);
    expect(watch?.Properties.Timeout * 1000).toBeGreaterThan(
      (DETECTION.rounds - 1) * DETECTION.probeSeconds * 1000 + DETECTION.probeTimeoutMs,
    );
    expect(DETECTION.rounds * DETECTION.probeSeconds).toBe(60);
    expect(watch?.Properties.Environment.Variables).toMatchObject({
      MERIDIAN_REGION: 'eu-central-1',
      MERIDIAN_CONTROL_URL: 'https://eu-central-1.example.com/health',
      MERIDIAN_WATCHED: JSON.stringify({
        'eu-west-1': 'https://eu-west-1.example.com/health',
        'us-east-1': 'https://us-east-1.example.com/health',
      }),
      MERIDIAN_VOTES: JSON.stringify({
        'eu-west-1': {
          table: 'meridian-prod-eu-runbook-lock',
          endpoints: ['eu-central-1', 'eu-west-1'],
          watchers: ['eu-central-1', 'us-east-1'],
        },
        'us-east-1': {
          table: 'meridian-prod-us-runbook-lock',
          endpoints: ['eu-central-1', 'eu-west-1'],
          watchers: ['eu-central-1', 'eu-west-1'],
        },
      }),
    });
    t().hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [id, 'Arn'] },
          RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: 60 },
        }),
      ],
    });
  });

  test('the trigger runs on the composite’s change to ALARM, and knows which region each alarm is about', () => {
    const [id, trigger] = fn('failover-trigger');
    t().hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: {
          alarmName: ['meridian-prod-eu-west-1-region-down'],
          state: { value: ['ALARM'] },
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [id, 'Arn'] } })],
    });
    expect(trigger?.Properties.Environment.Variables).toMatchObject({
      MERIDIAN_REGION: 'eu-central-1',
      MERIDIAN_CELL: 'eu',
      MERIDIAN_START: 'approve',
      MERIDIAN_MIN_MINUTES_BETWEEN_STARTS: '30',
      MERIDIAN_ALARMS: JSON.stringify({ 'meridian-prod-eu-west-1-region-down': 'eu-west-1' }),
    });
  });

  test('least privilege: the trigger lists and starts this region’s runbook only, publishes to two topics', () => {
    const machine = Object.keys(
      t().findResources('AWS::StepFunctions::StateMachine', {
        Properties: { StateMachineName: 'meridian-prod-eu-central-1-failover' },
      }),
    )[0];
    const statements = statementsOf(t(), 'RegionWatchTrigger');
    expect(sid(statements, 'StartRunbook')).toEqual({
      Sid: 'StartRunbook',
      Effect: 'Allow',
      Action: ['states:ListExecutions', 'states:StartExecution'],
      Resource: { Ref: machine },
    });
    const topic = (s: string) =>
      Object.keys(
        t().findResources('AWS::SNS::Topic', {
          Properties: { TopicName: `meridian-prod-eu-central-1-alerts-${s}` },
        }),
      )[0];
    expect(sid(statements, 'PublishAlerts')).toMatchObject({
      Action: 'sns:Publish',
      Resource: [{ Ref: topic('critical') }, { Ref: topic('info') }],
    });
    expect(sid(statements, 'EncryptAlerts')).toMatchObject({
      Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
    });
    const actions = statements.flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
  });

  test('least privilege: the watch reads health checks and publishes metrics in its namespace only', () => {
    const statements = statementsOf(t(), 'RegionWatchFunction');
    expect(sid(statements, 'FindHealthChecks')).toMatchObject({
      Action: 'route53:ListHealthChecks',
      Resource: '*',
    });
    expect(sid(statements, 'ReadHealthChecks')).toMatchObject({
      Action: ['route53:GetHealthCheckStatus', 'route53:ListTagsForResources'],
      Resource: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':route53:::healthcheck/*']],
      },
    });
    expect(sid(statements, 'PublishWatchMetrics')).toEqual({
      Sid: 'PublishWatchMetrics',
      Effect: 'Allow',
      Action: 'cloudwatch:PutMetricData',
      Resource: '*',
      Condition: { StringEquals: { 'cloudwatch:namespace': 'Meridian/Watch' } },
    });
    // Votes: the watched regions' cell lock tables, at the endpoints this region calls only.
    expect(sid(statements, 'Votes')).toMatchObject({
      Action: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
    });
    expect(JSON.stringify((sid(statements, 'Votes') as { Resource?: unknown })?.Resource)).toMatch(
      /^\[(\{"Fn::Join":\["",\["arn:",\{"Ref":"AWS::Partition"\},":dynamodb:eu-(central|west)-1:111111111111:table\/meridian-prod-(eu|us)-runbook-lock"\]\]\},?){4}\]$/,
    );
    const actions = statements.flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    expect(
      actions.filter((a: string) =>
        /^(states|sns|route53:Change|cloudwatch:(?!PutMetricData))/.test(a),
      ),
    ).toEqual([]);
  });

  test('a silent watch warns (the region-down alarm cannot fire while it is)', () => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'meridian-prod-eu-west-1-watch-silent',
      MetricName: 'EndpointHealthy',
      Statistic: 'SampleCount',
      TreatMissingData: 'breaching',
      AlarmActions: [
        {
          Ref: Object.keys(
            t().findResources('AWS::SNS::Topic', {
              Properties: { TopicName: 'meridian-prod-eu-central-1-alerts-warning' },
            }),
          )[0],
        },
      ],
    });
  });
});

test('a region alone in its cell is watched and pages, and no trigger acts for it', () => {
  for (const region of watchersOf(config, 'us-east-1')) {
    const t = built.template(region);
    const down = composites(t).find(
      (c) => c.Properties.AlarmName === naming.regionDownAlarm('us-east-1'),
    );
    expect(String(down?.Properties.AlarmDescription)).toContain(
      'us-east-1 is alone in its cell: there is no region to fail over to',
    );
    for (const [, rule] of Object.entries(t.findResources('AWS::Events::Rule')))
      expect(JSON.stringify(rule.Properties.EventPattern ?? {})).not.toContain(
        'us-east-1-region-down',
      );
  }
  // us-east-1 watches the others, and takes over from no one: no trigger there.
  const us = built.template('us-east-1');
  expect(
    Object.values(us.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    ),
  ).toEqual(expect.arrayContaining(['failover-watch']));
  expect(
    Object.values(us.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    ),
  ).not.toContain('failover-trigger');
});
