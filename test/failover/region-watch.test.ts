import { Match, type Template } from 'aws-cdk-lib/assertions';
import { DETECTION, WATCH_NAMESPACE } from '../../lambda/shared/failover/watch';
import { regionDownRule, regionWatchPlan, watchedBy } from '../../lib/failover/region-watch';
import { runnerRegion } from '../../lib/failover/runner';
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
  test('each region is watched by the region that would take over from it, never by itself', () => {
    const eight = load(EIGHT_REGIONS);
    const pairs = eight.regions.flatMap((o) => watchedBy(eight, o.id).map((p) => `${p} ← ${o.id}`));
    expect(pairs.sort()).toEqual([
      'ap-south-1 ← ap-south-2',
      'ap-south-2 ← ap-south-1',
      'eu-central-1 ← eu-west-1',
      'eu-west-1 ← eu-central-1',
      'us-east-1 ← us-west-2',
      'us-west-2 ← us-east-1',
    ]);
    for (const o of eight.regions)
      for (const p of watchedBy(eight, o.id)) expect(runnerRegion(eight, p)).toBe(o.id);
    // A cell of one region has no one to watch it (and no region to fail over to).
    expect(
      eight.regions.filter((r) => watchedBy(eight, r.id).length === 0).map((r) => r.id),
    ).toEqual(['ap-southeast-1', 'me-central-1']);
  });

  test('the plan: health URLs, the control probe, the cell’s start settings (approve, 30 min by default)', () => {
    expect(regionWatchPlan(config, 'eu-central-1')).toEqual({
      region: 'eu-central-1',
      cell: 'eu',
      controlUrl: 'https://eu-central-1.example.com/health',
      watched: [
        {
          region: 'eu-west-1',
          healthUrl: 'https://eu-west-1.example.com/health',
          startCommand: expect.stringContaining('--region eu-central-1 '),
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
      watched: [expect.objectContaining({ region: 'eu-central-1' })],
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

  test('only the runner region has its signal alarms and its composite; none in the region itself', () => {
    const signals = [
      naming.criticalAlarm(watched, 'checkers'),
      naming.criticalAlarm(watched, 'endpoint'),
    ];
    const where = (name: string) =>
      config.regions
        .map((r) => r.id)
        .filter((r) => alarmsNamed(built.template(r), name).length > 0);
    for (const name of signals) expect(where(name)).toEqual([runner]);
    expect(
      config.regions
        .map((r) => r.id)
        .filter((r) =>
          composites(built.template(r)).some(
            (c) => c.Properties.AlarmName === naming.regionDownAlarm(watched),
          ),
        ),
    ).toEqual([runner]);
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

  test('the composite: the exact rule, paging the critical topic with the command that starts the runbook', () => {
    const [down, ...more] = composites(t()).filter(
      (c) => c.Properties.AlarmName === naming.regionDownAlarm(watched),
    );
    expect(more).toEqual([]);
    expect(down?.Properties.AlarmRule).toBe(
      `ALARM("meridian-prod-${watched}-critical-endpoint") AND NOT OK("meridian-prod-${watched}-critical-checkers")`,
    );
    expect(down?.Properties.AlarmRule).toBe(regionDownRule(naming, watched));
    const critical = Object.keys(
      t().findResources('AWS::SNS::Topic', {
        Properties: { TopicName: `meridian-prod-${runner}-alerts-critical` },
      }),
    );
    expect(down?.Properties.AlarmActions).toEqual([{ Ref: critical[0] }]);
    expect(down?.Properties.OKActions).toEqual([{ Ref: critical[0] }]);
    // Created after the alarms its rule names (by name, so CloudFormation must be told).
    expect(down?.DependsOn).toEqual(
      expect.arrayContaining(
        Object.entries(t().findResources('AWS::CloudWatch::Alarm'))
          .filter(([, a]) =>
            String(a.Properties.AlarmName).startsWith(naming.criticalAlarmPrefix(watched)),
          )
          .map(([id]) => id),
      ),
    );
    const description = String(down?.Properties.AlarmDescription);
    expect(description).toContain(
      `aws stepfunctions start-execution --region ${runner} --state-machine-arn arn:aws:states:${runner}:111111111111:stateMachine:meridian-prod-${runner}-failover --name failover-${watched}-$(date -u +%Y%m%dT%H%M%S) --input '{"cell":"eu","failedRegion":"${watched}","mode":"auto","reason":"region-down alarm meridian-prod-${watched}-region-down"}'`,
    );
    expect(description).toContain('failover.start: approve');
    expect(description.length).toBeLessThanOrEqual(1024);
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
      MERIDIAN_WATCHED: JSON.stringify({ 'eu-west-1': 'https://eu-west-1.example.com/health' }),
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

test('a region no one would take over from has no watch at all', () => {
  const t = built.template('us-east-1');
  expect(composites(t)).toEqual([]);
  expect(
    Object.values(t.findResources('AWS::Lambda::Function')).map(
      (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME,
    ),
  ).not.toEqual(expect.arrayContaining(['failover-watch']));
});
