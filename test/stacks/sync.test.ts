import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../support/app';
import { FakeSqs } from '../support/fake-sqs';
import { copyRegions, edit, load, MINIMAL } from '../support/fixture';

/** The sync pipeline's resources, on the minimal fixture with eu-west-1's schedule changed. */
const dir = copyRegions(MINIMAL);
edit(
  dir,
  'eu-west-1.yaml',
  'capacity: 100',
  'capacity: 100\nsettings:\n  sync:\n    scheduleMinutes: 2',
);
const config = load(dir);
const built = buildApp(config);

const policies = (t: Template, prefix: string) =>
  Object.entries(t.findResources('AWS::IAM::Policy'))
    .filter(([id]) => id.startsWith(prefix))
    .flatMap(
      ([, p]) =>
        p.Properties.PolicyDocument.Statement as {
          Sid?: string;
          Action: string | string[];
          Resource: unknown;
        }[],
    );

describe.each([
  ['eu-west-1', ['us-east-1'], 2],
  ['us-east-1', ['eu-west-1'], 5],
])('sync in writer region %s', (id, targets, minutes) => {
  const t = () => built.template(id);

  test('every queue keeps the default message size of SQS (262,144 bytes), the limit the test SQS enforces', () => {
    const queues = Object.values(t().findResources('AWS::SQS::Queue'));
    expect(queues.length).toBeGreaterThan(0);
    for (const q of queues) expect(q.Properties?.MaximumMessageSize).toBeUndefined();
    expect(FakeSqs.MAX_BYTES).toBe(262_144);
  });

  test('dispatch on the configured schedule; apply on the inbound queue with partial batch responses', () => {
    t().hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: `rate(${minutes} minutes)`,
      Targets: [Match.objectLike({ RetryPolicy: { MaximumRetryAttempts: 2 } })],
    });
    t().hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('SyncQueuesInbound'), 'Arn'] },
    });
    t().hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          MERIDIAN_TARGET_QUEUES: JSON.stringify(
            Object.fromEntries(
              targets.map((x) => [
                x,
                `https://sqs.${x}.amazonaws.com/111111111111/meridian-prod-${x}-sync-inbound.fifo`,
              ]),
            ),
          ),
          MERIDIAN_BATCH_SIZE: '1000',
          MERIDIAN_MAX_ATTEMPTS: '5',
        }),
      },
      Timeout: 300,
    });
    // Apply parks a record whose clock is more than sync.maxClockAheadSeconds (60) ahead.
    t().hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'sync-apply',
          MERIDIAN_MAX_CLOCK_AHEAD_MS: '60000',
        }),
      },
    });
  });

  test('least privilege: exact queue ARNs, alias-bound target keys, PutObject under sync/, no wildcard actions', () => {
    const dispatch = policies(t(), 'SyncDispatch');
    expect(dispatch).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Sid: 'SendToTargetInboundQueues',
          Action: 'sqs:SendMessage',
          // One resource is rendered as a value, several as a list.
          Resource: ((arns) => (arns.length === 1 ? arns[0] : arns))(
            targets.map((x) => ({
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  `:sqs:${x}:111111111111:meridian-prod-${x}-sync-inbound.fifo`,
                ],
              ],
            })),
          ),
        }),
        expect.objectContaining({
          Sid: 'EncryptForTargetQueues',
          Condition: {
            'ForAnyValue:StringEquals': { 'kms:ResourceAliases': 'alias/meridian-prod' },
          },
        }),
        expect.objectContaining({ Sid: 'WriteAudit', Action: 's3:PutObject' }),
      ]),
    );
    const all = [
      ...dispatch,
      ...policies(t(), 'SyncApply'),
      ...policies(t(), 'SyncRedrive'),
    ].flatMap((s) => [s.Action].flat());
    expect(all.filter((a) => a.includes('*'))).toEqual([]);
  });

  test('redrive: on demand only, reads the dead-letter queue, sends only to its own inbound queue', () => {
    const fn = Object.entries(t().findResources('AWS::Lambda::Function')).find(([, f]) =>
      String(f.Properties.Description).startsWith('Sync redrive'),
    );
    if (!fn) throw new Error('no redrive function');
    const [fnId, { Properties: props }] = fn;
    expect(props.Timeout).toBe(300);
    expect(props.Environment.Variables).toMatchObject({
      MERIDIAN_REGION: id,
      MERIDIAN_INBOUND_URL: { Ref: expect.stringMatching(/^SyncQueuesInbound/) },
      MERIDIAN_DEAD_LETTER_URL: { Ref: expect.stringMatching(/^SyncQueuesDeadLetter/) },
    });
    // Nothing invokes it by itself: no queue mapping, no schedule.
    const mappings = t().findResources('AWS::Lambda::EventSourceMapping');
    expect(Object.values(mappings).filter((m) => JSON.stringify(m).includes(fnId))).toEqual([]);
    const rules = t().findResources('AWS::Events::Rule');
    expect(Object.values(rules).filter((r) => JSON.stringify(r).includes(fnId))).toEqual([]);

    const statements = policies(t(), 'SyncRedrive');
    const bySid = (sid: string) => statements.find((s) => s.Sid === sid);
    expect(bySid('ReadDeadLetters')).toMatchObject({
      Action: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:ReceiveMessage'],
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SyncQueuesDeadLetter/), 'Arn'] },
    });
    expect(bySid('ReturnToInboundQueue')).toMatchObject({
      Action: 'sqs:SendMessage',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SyncQueuesInbound/), 'Arn'] },
    });
    // It sends nowhere else: its own inbound queue, and Lambda's own queue for failed invocations.
    const sends = statements.filter((s) => [s.Action].flat().includes('sqs:SendMessage'));
    expect(sends.map((s) => s.Resource)).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^SyncRedriveDlq/), 'Arn'] },
      { 'Fn::GetAtt': [expect.stringMatching(/^SyncQueuesInbound/), 'Arn'] },
    ]);
  });

  test('the pseudonymisation key is replicated only inside the jurisdiction', () => {
    const peers = config.regions
      .filter(
        (r) =>
          r.jurisdiction === config.regions.find((x) => x.id === id)?.jurisdiction && r.id !== id,
      )
      .map((r) => ({ Region: r.id }));
    t().hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('^HMAC key for pseudonymised exports'),
      ...(peers.length ? { ReplicaRegions: peers } : { ReplicaRegions: Match.absent() }),
    });
  });

  test.each([
    ['DeadLetters', 'critical', 'ApproximateNumberOfMessagesVisible'],
    ['ResidencyRejected', 'critical', 'ResidencyRejected'],
    ['Lag', 'warning', 'SyncLagSeconds'],
  ])('alarm %s → %s topic', (alarmId, severity, metricName) => {
    t().hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: metricName,
      AlarmActions: [{ Ref: Match.stringLikeRegexp(`Alerts${severity}`) }],
      AlarmDescription: Match.anyValue(),
    });
    expect(
      Object.keys(t().findResources('AWS::CloudWatch::Alarm')).some((k) =>
        k.startsWith(`Sync${alarmId}`),
      ),
    ).toBe(true);
  });
});

test('a secondary region runs no sync functions (its Aurora is read-only)', () => {
  const t = built.template('eu-central-1');
  const rules = Object.values(t.findResources('AWS::Events::Rule')).map(
    (r) => r.Properties.Description,
  );
  expect(rules.filter((d) => String(d).startsWith('Dispatch'))).toEqual([]);
  t.resourceCountIs('AWS::Lambda::EventSourceMapping', 0);
});
