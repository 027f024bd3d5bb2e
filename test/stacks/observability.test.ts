import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../support/app';
import { copyRegions, edit, load, MINIMAL, problemsOf } from '../support/fixture';

/** Dashboards, severities, the sync objective and chat delivery, on the minimal fixture. */
const built = buildApp(load(copyRegions(MINIMAL)));
const REGIONS = ['eu-central-1', 'eu-west-1', 'us-east-1'];

const dashboardBody = (t: Template, name: string): string => {
  const [d] = Object.values(
    t.findResources('AWS::CloudWatch::Dashboard', { Properties: { DashboardName: name } }),
  );
  if (!d) throw new Error(`no dashboard ${name}`);
  return JSON.stringify(d.Properties.DashboardBody);
};

describe.each(REGIONS)('region %s', (region) => {
  const t = () => built.template(region);

  test('has its own dashboard with replication, health, sync and failover widgets', () => {
    const body = dashboardBody(t(), `meridian-prod-${region}`);
    for (const needle of [
      'GlobalDatastoreReplicationLag',
      'HealthCheckStatus',
      'ExecutionsStarted',
      'ExecutionsFailed',
      '"alarms\\":[',
    ])
      expect(body).toContain(needle);
  });

  test('every alarm notifies exactly one severity topic, on ALARM and on OK', () => {
    const topics = Object.entries(t().findResources('AWS::SNS::Topic')).filter(([, r]) =>
      /-alerts-(critical|warning|info)$/.test(String(r.Properties.TopicName)),
    );
    expect(topics.map(([, r]) => r.Properties.TopicName).sort()).toEqual(
      ['critical', 'info', 'warning'].map((s) => `meridian-prod-${region}-alerts-${s}`),
    );
    const ids = topics.map(([id]) => id);
    const alarms = Object.values(t().findResources('AWS::CloudWatch::Alarm'));
    expect(alarms.length).toBeGreaterThan(0);
    for (const a of alarms) {
      expect(a.Properties.AlarmActions).toHaveLength(1);
      expect(ids).toContain(a.Properties.AlarmActions[0].Ref);
      expect(a.Properties.OKActions).toEqual(a.Properties.AlarmActions);
    }
  });
});

test.each(REGIONS)('%s records every failover and failback start as an info alarm', (region) => {
  const t = built.template(region);
  const info = Object.keys(
    t.findResources('AWS::SNS::Topic', {
      Properties: { TopicName: `meridian-prod-${region}-alerts-info` },
    }),
  )[0];
  const started = Object.values(
    t.findResources('AWS::CloudWatch::Alarm', {
      Properties: { MetricName: 'ExecutionsStarted', Namespace: 'AWS/States' },
    }),
  );
  expect(started).toHaveLength(2);
  for (const a of started) expect(a.Properties.AlarmActions).toEqual([{ Ref: info }]);
});

describe('the sync objective (every region of a cell)', () => {
  test.each(['eu-west-1', 'us-east-1'])('%s alarms critically below 99.9%% success', (region) => {
    const t = built.template(region);
    const critical = Object.keys(
      t.findResources('AWS::SNS::Topic', {
        Properties: { TopicName: `meridian-prod-${region}-alerts-critical` },
      }),
    )[0];
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 99.9,
      ComparisonOperator: 'LessThanThreshold',
      AlarmActions: [{ Ref: critical }],
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: Match.stringLikeRegexp('100 \\* \\(applied_') }),
        Match.objectLike({
          MetricStat: Match.objectLike({
            Metric: Match.objectLike({ MetricName: 'RecordsParked', Namespace: 'Meridian/Sync' }),
            Period: 3600,
          }),
        }),
      ]),
    });
    expect(dashboardBody(t, `meridian-prod-${region}`)).toContain('SLO 99.9%');
  });

  test('a secondary has the objective too: its sync acts whenever it is the writer', () => {
    const t = built.template('eu-central-1');
    expect(
      Object.keys(t.findResources('AWS::CloudWatch::Alarm', { Properties: { Threshold: 99.9 } })),
    ).toEqual([expect.stringMatching(/^SyncSuccessObjective/)]);
  });
});

describe('the global dashboard', () => {
  test('lives in us-east-1 only and shows every region', () => {
    const body = dashboardBody(built.template('us-east-1'), 'meridian-prod-global');
    for (const r of REGIONS) {
      expect(body).toContain(`meridian-prod-${r}-failover`);
      expect(body).toContain(`meridian-prod-${r}`);
    }
    expect(body).toContain('AuroraGlobalDBReplicationLag');
    for (const r of ['eu-central-1', 'eu-west-1'])
      expect(
        built.template(r).findResources('AWS::CloudWatch::Dashboard', {
          Properties: { DashboardName: 'meridian-prod-global' },
        }),
      ).toEqual({});
  });
});

describe('chat delivery (AWS Chatbot)', () => {
  test('is off unless configured', () => {
    for (const r of REGIONS)
      expect(built.template(r).findResources('AWS::Chatbot::SlackChannelConfiguration')).toEqual(
        {},
      );
  });

  test('when configured, the chosen severities reach the Slack channel through a read-only role', () => {
    const dir = copyRegions(MINIMAL);
    edit(
      dir,
      'global.yaml',
      /^dataClasses:/m,
      'alerts:\n  chat:\n    slackWorkspaceId: T012AB3C4\n    slackChannelId: C0123ABCD\n    severities: [critical]\ndataClasses:',
    );
    const t = buildApp(load(dir)).template('eu-west-1');
    const critical = Object.keys(
      t.findResources('AWS::SNS::Topic', {
        Properties: { TopicName: 'meridian-prod-eu-west-1-alerts-critical' },
      }),
    )[0];
    t.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T012AB3C4',
      SlackChannelId: 'C0123ABCD',
      SnsTopicArns: [{ Ref: critical }],
      GuardrailPolicies: [Match.anyValue()],
    });
    t.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: [
          Match.objectLike({ Action: ['cloudwatch:DescribeAlarms', 'cloudwatch:GetMetricData'] }),
        ],
      },
    });
  });

  test('a channel name instead of its id is a config error naming the field', () => {
    const dir = copyRegions(MINIMAL);
    edit(
      dir,
      'global.yaml',
      /^dataClasses:/m,
      'alerts:\n  chat:\n    slackWorkspaceId: T012AB3C4\n    slackChannelId: "#oncall"\ndataClasses:',
    );
    const problems = problemsOf(dir);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/global\.yaml.*alerts\.chat\.slackChannelId.*#oncall.*C0123ABCD/);
  });
});
