/**
 * The dsr-region function's work (lambda/shared/dsr/handle.ts) on real Postgres, with a recording
 * S3: access writes the copies to this region's export prefix and a completion record to the audit
 * bucket; erasure runs only where the database takes writes; a hostile request is refused naming
 * its faults, never its values. And the function as the stacks deploy it: named for `npm run dsr`,
 * allowed to add objects under its two prefixes and nothing else.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import Redis from 'ioredis';
import { handleSubjectRequest } from '../../lambda/shared/dsr/handle';
import { subjectPrefixes } from '../../lambda/shared/dsr/objects';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { tombstoneOf } from '../../lambda/shared/sync/erasure';
import { cacheKey, RedisInvalidator } from '../../lambda/shared/sync/redis-invalidator';
import { recordChanges } from '../../lambda/shared/sync/replica-store';
import { Naming } from '../../lib/naming';
import { buildApp } from '../support/app';
import { openTestDb, type TestDb } from '../support/db';
import { FakeS3 } from '../support/fake-s3';
import { load, MINIMAL } from '../support/fixture';
import { REDIS_URL, withRedis } from '../support/services';
import { change, uuid } from '../sync/events';

const T = Date.now();
const s3 = new FakeS3(['audit', 'data']);
afterAll(() => s3.restore());
const index = new ResidencyIndex(load(MINIMAL).plan);
const put = (key: string, body: string) =>
  new S3Client({ region: 'eu-west-1' }).send(
    new PutObjectCommand({ Bucket: 'data', Key: key, Body: body }),
  );

const request = (action: string, over: Record<string, unknown> = {}) => ({
  request: {
    requestId: uuid(`handler-${action}`),
    action,
    jurisdiction: 'eu',
    entities: [{ entityType: 'customer', entityKey: 'c-handler-1' }],
    at: { wall: T + 5, logical: 0 },
    ...over,
  },
  deadline: new Date(T + 30 * 86_400_000).toISOString(),
});

describe('handleSubjectRequest', () => {
  let t: TestDb;
  const deps = () => ({
    db: t.db,
    s3: new S3Client({ region: 'eu-west-1' }),
    region: 'eu-west-1',
    auditBucket: 'audit',
    dataBucket: 'data',
    prefixesOf: (entities: Parameters<typeof subjectPrefixes>[1]) =>
      subjectPrefixes(index, entities),
    now: () => new Date('2026-12-07T12:00:00Z'),
  });
  beforeAll(async () => {
    t = await openTestDb();
    await recordChanges(
      t.db,
      [
        change({
          seed: 'handler-1',
          dataClass: 'pii',
          entityKey: 'c-handler-1',
          hlc: { wall: T, logical: 0 },
          payload: { name: 'Ada Byron', email: 'ada.byron@example.com' },
        }),
      ],
      () => 'lww',
    );
    // Two versions of a profile under the class prefix, a masked copy, and someone else's.
    await put('pii/customer/c-handler-1/profile.json', '{"name":"Ada Byron"}');
    await put('pii/customer/c-handler-1/profile.json', '{"name":"Ada King"}');
    await put('masked/us/pii/customer/c-handler-1/profile.json', '{"name":"pz_x"}');
    await put('pii/customer/c-handler-2/profile.json', '{"name":"Someone Else"}');
  });
  afterAll(() => t.close());

  test('access: the copies to this region’s export prefix, the counts to the audit bucket', async () => {
    const out = await handleSubjectRequest(deps(), request('access'));
    const id = uuid('handler-access');
    const entity = { entityType: 'customer', entityKey: 'c-handler-1' };
    const exportKey = `dsr-exports/${tombstoneOf(entity)}/${id}/eu-west-1.json`;
    expect(out).toEqual({
      record: expect.objectContaining({ region: 'eu-west-1', outcome: 'done', onTime: true }),
      completion: `s3://audit/dsr/2026/12/07/eu-west-1/${id}.json`,
      exports: [`s3://data/${exportKey}`],
    });
    expect(JSON.parse(s3.body('data', exportKey) ?? '{}')).toMatchObject({
      region: 'eu-west-1',
      // Not dispatched yet: the outbox row is a copy too.
      copies: [
        { table: 'outbox', payload: { email: 'ada.byron@example.com' } },
        { table: 'replica', payload: { email: 'ada.byron@example.com' } },
      ],
      objects: [
        'masked/us/pii/customer/c-handler-1/profile.json',
        'pii/customer/c-handler-1/profile.json',
      ],
    });
    const record = s3.body('audit', `dsr/2026/12/07/eu-west-1/${id}.json`) ?? '';
    expect(JSON.parse(record)).toMatchObject({
      found: { replica: 1, outbox: 1 },
      objects: { found: 2 },
    });
    expect(record).not.toMatch(/Ada|ada\.byron|c-handler-1/);
  });

  test('a reader region erases its own objects; the tables are the writer’s to erase', async () => {
    // An Aurora secondary: Aurora carries the writer's erasure here, S3 carries no version deletion.
    await t.db.exec('SET default_transaction_read_only = on');
    const reader = await handleSubjectRequest(
      deps(),
      request('erase', { requestId: uuid('handler-erase-reader') }),
    );
    await t.db.exec('SET default_transaction_read_only = off');
    expect(reader.record).toMatchObject({
      database: 'reader',
      outcome: 'done',
      objects: { removed: 3, remaining: 0 },
      cache: 'none here',
    });
    expect(reader.record.removed).toBeUndefined();
    // Every version went, not just the current one; the other customer's object stays.
    // The earlier access request's export held copies: it went too.
    expect(s3.keys('data')).toEqual(['pii/customer/c-handler-2/profile.json']);
    expect(s3.bodies('data').join()).not.toMatch(/Ada Byron|Ada King/);

    const writer = await handleSubjectRequest(deps(), request('erase'));
    expect(writer.record).toMatchObject({
      database: 'writer',
      outcome: 'done',
      removed: { replica: 1, outbox: 1 },
      remaining: { replica: 0, outbox: 0 },
      objects: { removed: 0, remaining: 0 },
    });
  });

  withRedis('erasure drops the cached copies too (real Redis)', async () => {
    const redis = new Redis(REDIS_URL ?? '');
    try {
      const key = cacheKey('customer:c-handler-1');
      await redis.set(key, JSON.stringify({ name: 'Ada Byron' }));
      await redis.set(cacheKey('customer:c-handler-2'), 'someone else');
      const out = await handleSubjectRequest(
        { ...deps(), cache: new RedisInvalidator(redis) },
        request('erase', { requestId: uuid('handler-erase-cache') }),
      );
      expect(out.record.cache).toBe('unlinked');
      expect(await redis.exists(key)).toBe(0);
      expect(await redis.get(cacheKey('customer:c-handler-2'))).toBe('someone else');
    } finally {
      await redis.del(cacheKey('customer:c-handler-2'));
      redis.disconnect();
    }
  });

  test('a hostile request is refused, naming each fault and no value', async () => {
    const bad = request('forget', {
      requestId: 'not-a-uuid',
      entities: [{ entityType: 'customer', entityKey: 'ada.byron@example.com with spaces' }],
    });
    await expect(handleSubjectRequest(deps(), bad)).rejects.toThrow(
      'requestId: expected a lower-case UUID; action: expected access, erase or rectify; entities: expected 1 to 1000 {entityType, entityKey}',
    );
    await expect(
      handleSubjectRequest(deps(), { ...request('access'), deadline: 'soon' }),
    ).rejects.toThrow('deadline: expected an ISO 8601 date');
  });
});

test('each region deploys its part, named for npm run dsr: it adds objects under two prefixes and deletes versions in the data bucket, nothing else in S3', () => {
  const built = buildApp(load(MINIMAL));
  const t = built.template('eu-west-1');
  const [id, fn] = Object.entries(t.findResources('AWS::Lambda::Function')).find(
    ([, f]) => f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'dsr-region',
  ) ?? [undefined, undefined];
  expect(fn?.Properties.FunctionName).toBe(
    new Naming('meridian', 'prod').subjectRequestFunction('eu-west-1'),
  );
  const role = fn?.Properties.Role['Fn::GetAtt'][0];
  const statements = Object.values(t.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(role))
    .flatMap(
      (p) =>
        p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[],
    );
  const s3Actions = statements.flatMap((s) => [s.Action].flat()).filter((a) => a.startsWith('s3:'));
  expect(s3Actions.sort()).toEqual([
    's3:DeleteObjectVersion',
    's3:ListBucketVersions',
    's3:PutObject',
    's3:PutObject',
  ]);
  const s3Resources = JSON.stringify(
    statements.filter((s) => [s.Action].flat().includes('s3:PutObject')).map((s) => s.Resource),
  );
  expect(s3Resources).toContain('/dsr/*');
  expect(s3Resources).toContain('/dsr-exports/*');
  expect(id).toBeDefined();
  // It reads the residency plan (where a subject's objects can be) from the plan layer.
  expect(fn?.Properties.Layers).toHaveLength(1);
  expect(fn?.Properties.Environment.Variables.MERIDIAN_RESIDENCY_PLAN_FILE).toBeDefined();
  // The fake S3 the erasure is tested on is versioned because the data bucket is.
  const buckets = Object.values(t.findResources('AWS::S3::Bucket')).filter((b) =>
    JSON.stringify(b.Properties.BucketName ?? '').includes('-data-'),
  );
  expect(buckets.map((b) => b.Properties.VersioningConfiguration)).toEqual([{ Status: 'Enabled' }]);
  // Exports expire: copies kept until handed over, not for good.
  expect(buckets[0]?.Properties.LifecycleConfiguration.Rules).toContainEqual(
    expect.objectContaining({
      Id: 'dsr-exports',
      Prefix: 'dsr-exports/',
      ExpirationInDays: 30,
      NoncurrentVersionExpiration: { NoncurrentDays: 1 },
      Status: 'Enabled',
    }),
  );
  const listing = statements.filter((s) => [s.Action].flat().includes('s3:ListBucketVersions'));
  expect(listing).toHaveLength(1);
});
