import * as fs from 'node:fs';
import * as path from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { SCHEMA_VERSION } from '../../lambda/shared/sync/migrations';
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

/** A function's environment, found by its Powertools service name. */
const envOf = (t: Template, service: string): Record<string, string> => {
  const fn = Object.values(t.findResources('AWS::Lambda::Function')).find(
    (f) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === service,
  );
  if (!fn) throw new Error(`no ${service} function`);
  return fn.Properties.Environment.Variables;
};

// Every region of a cell runs sync (it acts only while it is the writer); a target cell is sent
// to in whichever of its regions holds the writer lease, so every one of them is configured.
describe.each([
  ['eu-west-1', ['us-east-1'], 2],
  ['eu-central-1', ['us-east-1'], 5],
  ['us-east-1', ['eu-central-1', 'eu-west-1'], 5],
])('sync in region %s', (id, targets, minutes) => {
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
    const dispatch = envOf(t(), 'sync-dispatch');
    expect(JSON.parse(dispatch.MERIDIAN_TARGET_QUEUES ?? '{}')).toEqual(
      Object.fromEntries(
        targets.map((x) => [
          x,
          `https://sqs.${x}.amazonaws.com/111111111111/meridian-prod-${x}-sync-inbound.fifo`,
        ]),
      ),
    );
    expect(dispatch).toMatchObject({ MERIDIAN_BATCH_SIZE: '1000', MERIDIAN_MAX_ATTEMPTS: '5' });
    // The writer of each target cell is read from that cell's lease, where its lock lives.
    expect(Object.keys(JSON.parse(dispatch.MERIDIAN_WRITER_LEASES ?? '{}'))).toEqual([
      id === 'us-east-1' ? 'eu' : 'us',
    ]);
    // The relay: one invocation a minute, listening 90 s, so two overlap at the handover.
    t().hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      Targets: [Match.objectLike({ Input: '{"relay":true}' })],
    });
    expect(dispatch.MERIDIAN_RELAY_SECONDS).toBe('90');
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
          Resource: ((arns) => (arns.length === 1 ? arns[0] : expect.arrayContaining(arns)))(
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

  test('the pseudonymisation key is the cell’s: created by its primary, replicated only inside the jurisdiction', () => {
    if (id === 'eu-central-1') {
      // A secondary reads the replica by name; it has no key of its own.
      expect(
        Object.values(t().findResources('AWS::SecretsManager::Secret')).filter((r) =>
          String(r.Properties.Description).startsWith('HMAC key'),
        ),
      ).toEqual([]);
      expect(envOf(t(), 'sync-dispatch').MERIDIAN_PSEUDONYM_SECRET_ARN).toBe(
        'arn:aws:secretsmanager:eu-central-1:111111111111:secret:meridian-prod-eu-pseudonym-key',
      );
      return;
    }
    const peers = config.regions
      .filter(
        (r) =>
          r.jurisdiction === config.regions.find((x) => x.id === id)?.jurisdiction && r.id !== id,
      )
      .map((r) => ({ Region: r.id }));
    t().hasResourceProperties('AWS::SecretsManager::Secret', {
      Description: Match.stringLikeRegexp('^HMAC key for pseudonymised exports'),
      Name: `meridian-prod-${id === 'us-east-1' ? 'us' : 'eu'}-pseudonym-key`,
      ...(peers.length ? { ReplicaRegions: peers } : { ReplicaRegions: Match.absent() }),
    });
  });

  test.each([
    ['DeadLetters', 'critical', 'ApproximateNumberOfMessagesVisible'],
    ['ResidencyRejected', 'critical', 'ResidencyRejected'],
    ['Lag', 'warning', 'SyncLagSeconds'],
    ['RealtimeLag', 'critical', 'RealtimeLagMilliseconds'],
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

test.each(['eu-west-1', 'eu-central-1', 'us-east-1'])(
  'the sync schema is a deploy-time resource in %s, at the code’s schema version, after the cluster',
  (id) => {
    const t = built.template(id);
    const [, resource] = Object.entries(t.findResources('Custom::MeridianSyncSchema'))[0] ?? [];
    expect(resource?.Properties.Version).toBe(String(SCHEMA_VERSION));
    expect(resource?.DependsOn).toEqual(
      expect.arrayContaining([expect.stringMatching(/^AuroraCluster/)]),
    );
    expect(envOf(t, 'sync-schema')).toMatchObject({
      MERIDIAN_DB_SECRET_NAME: `meridian-prod-${id === 'us-east-1' ? 'us' : 'eu'}-aurora-credentials`,
    });
  },
);

test('a secondary connects to its own cluster and forwards to its cell; the cell’s writer lease says who the writer is', () => {
  const t = built.template('eu-central-1');
  const apply = envOf(t, 'sync-apply');
  expect(apply.MERIDIAN_DB_HOST).toEqual({
    'Fn::GetAtt': [expect.stringMatching(/^AuroraCluster/), 'Endpoint.Address'],
  });
  expect(apply.MERIDIAN_DB_SECRET_NAME).toBe('meridian-prod-eu-aurora-credentials');
  expect(JSON.parse(apply.MERIDIAN_CELL_QUEUES ?? '{}')).toEqual({
    'eu-west-1':
      'https://sqs.eu-west-1.amazonaws.com/111111111111/meridian-prod-eu-west-1-sync-inbound.fifo',
  });
  expect(Object.keys(JSON.parse(apply.MERIDIAN_WRITER_LEASES ?? '{}'))).toEqual(['eu']);
  // The Global Datastore secondary takes no writes: no AUTH token here, nothing to invalidate.
  expect(apply.MERIDIAN_CACHE_SECRET_ARN).toBeUndefined();
  t.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
});

test('a platform of one cell synthesizes: nothing to send to, so no statement to read other cells’ leases', () => {
  // The counterexample fast-check found (residency.property.test.ts): us-east-1 and us-west-2 only.
  const one = copyRegions(MINIMAL);
  for (const f of ['eu-west-1.yaml', 'eu-central-1.yaml']) fs.rmSync(path.join(one, f));
  edit(one, 'global.yaml', /\n {2}eu:\n(?: {4}.*\n)+/, '\n');
  const t = buildApp(load(one)).template('us-east-1');
  const statements = policies(t, 'SyncDispatch');
  expect(statements.map((s) => s.Sid)).not.toContain('ReadWriterLeases');
  expect(envOf(t, 'sync-dispatch').MERIDIAN_WRITER_LEASES).toBe('{}');
});
