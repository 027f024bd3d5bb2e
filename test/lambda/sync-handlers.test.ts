import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { auditKey, writeAudit } from '../../lambda/shared/sync/aws';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

const load = (name: 'sync-dispatch' | 'sync-apply' | 'sync-redrive') => () =>
  jest.isolateModules(() => {
    require(`../../lambda/${name}/index`);
  });

describe('sync handlers check their environment at cold start', () => {
  test('sync-dispatch: one error naming every bad variable', () => {
    Object.assign(process.env, {
      MERIDIAN_REGION: 'eu-west-1',
      MERIDIAN_DB_SECRET_NAME: 'not a name',
      MERIDIAN_DB_HOST: 'db.internal',
      MERIDIAN_TARGET_QUEUES: '{"us-east-1":"http://x"}',
      MERIDIAN_WRITER_LEASES: '{"us":"meridian-prod-us-runbook-lock@us-east-1"}',
      MERIDIAN_BATCH_SIZE: '0',
    });
    let message = '';
    try {
      load('sync-dispatch')();
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'sync-dispatch: invalid configuration:',
      '  MERIDIAN_DB_SECRET_NAME: got "not a name"; expected the cell\'s Aurora secret name',
      '  MERIDIAN_PSEUDONYM_SECRET_ARN: got nothing; expected a secret ARN',
      '  MERIDIAN_KMS_KEY_ARN: got nothing; expected the regional KMS key ARN',
      '  MERIDIAN_TARGET_QUEUES: got "{\\"us-east-1\\":\\"http://x\\"}"; expected a JSON object of region → inbound queue URL',
      '  MERIDIAN_DEAD_LETTER_URL: got nothing; expected an SQS queue URL',
      '  MERIDIAN_AUDIT_BUCKET: got nothing; expected an S3 bucket name',
      '  MERIDIAN_BATCH_SIZE: got "0"; expected an integer from 1 to 10000',
    ]);
  });

  test('sync-apply: a missing cache endpoint is named', () => {
    Object.assign(process.env, {
      MERIDIAN_REGION: 'eu-west-1',
      MERIDIAN_DB_SECRET_NAME: 'meridian-prod-eu-aurora-credentials',
      MERIDIAN_DB_HOST: 'db.internal',
      MERIDIAN_CELL_QUEUES: '{}',
      MERIDIAN_WRITER_LEASES: '{"eu":"meridian-prod-eu-runbook-lock@eu-west-1"}',
      MERIDIAN_CACHE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:cache',
      MERIDIAN_DEAD_LETTER_URL: 'https://sqs.eu-west-1.amazonaws.com/111111111111/dlq.fifo',
      MERIDIAN_AUDIT_BUCKET: 'meridian-prod-eu-west-1-audit-111111111111',
    });
    expect(load('sync-apply')).toThrow(
      /sync-apply: invalid configuration:\n {2}MERIDIAN_CACHE_ENDPOINT: got nothing; expected host:port$/,
    );
  });
});

test('sync-redrive: needs its inbound queue and dead-letter queue', () => {
  Object.assign(process.env, {
    MERIDIAN_REGION: 'eu-west-1',
    MERIDIAN_DB_SECRET_NAME: 'meridian-prod-eu-aurora-credentials',
    MERIDIAN_DB_HOST: 'db.internal',
    MERIDIAN_AUDIT_BUCKET: 'meridian-prod-eu-west-1-audit-111111111111',
    MERIDIAN_INBOUND_URL: 'sqs://nowhere',
  });
  expect(load('sync-redrive')).toThrow(
    'sync-redrive: invalid configuration:\n' +
      '  MERIDIAN_DEAD_LETTER_URL: got nothing; expected an SQS queue URL\n' +
      '  MERIDIAN_INBOUND_URL: got "sqs://nowhere"; expected an SQS queue URL',
  );
});

describe('audit records', () => {
  test('one object per run, under sync/<kind>/<date>/<region>/, checksummed for Object Lock', async () => {
    const s3 = mockClient(S3Client);
    try {
      s3.on(PutObjectCommand).resolves({});
      const at = new Date('2026-11-22T10:00:00Z');
      const key = await writeAudit(
        new S3Client({ region: 'eu-west-1' }),
        'audit-bucket',
        'apply',
        'eu-west-1',
        'c0ffee',
        { received: 3, rejected: 1 },
        at,
      );
      expect(key).toBe('sync/apply/2026/11/22/eu-west-1/c0ffee.json');
      expect(auditKey('dispatch', 'us-east-1', 'x', at)).toBe(
        'sync/dispatch/2026/11/22/us-east-1/x.json',
      );
      const input = s3.commandCalls(PutObjectCommand)[0]?.args[0].input;
      expect(input).toMatchObject({
        Bucket: 'audit-bucket',
        Key: key,
        ChecksumAlgorithm: 'SHA256',
      });
      expect(JSON.parse(String(input?.Body))).toEqual({
        kind: 'apply',
        region: 'eu-west-1',
        correlationId: 'c0ffee',
        at: '2026-11-22T10:00:00.000Z',
        received: 3,
        rejected: 1,
      });
    } finally {
      s3.restore();
    }
  });
});
