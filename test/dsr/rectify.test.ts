/**
 * Rectification on real Postgres, across three regions in three jurisdictions (a US subject,
 * masked in APAC and the UAE): the corrected version is written through the application and
 * travels as any change; the request then removes every version written before it — current
 * copies where the correction has not arrived, history, sent log, outbox, old object versions —
 * and keeps them from coming back, while the corrected version stays everywhere.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { handleSubjectRequest } from '../../lambda/shared/dsr/handle';
import { subjectPrefixes } from '../../lambda/shared/dsr/objects';
import { SUBJECT_TABLES } from '../../lambda/shared/dsr/postgres';
import type { CompletionRecord } from '../../lambda/shared/dsr/region-run';
import { entityRef, type SubjectRequest } from '../../lambda/shared/dsr/subject';
import { tombstoneOf } from '../../lambda/shared/sync/erasure';
import { pseudonymise } from '../../lambda/shared/sync/masking';
import { readReplica, recordChanges } from '../../lambda/shared/sync/replica-store';
import { syncTargets } from '../../lambda/shared/sync/routes';
import { FakeS3 } from '../support/fake-s3';
import { FakeSqs } from '../support/fake-sqs';
import { change, uuid } from '../sync/events';
import { leaks } from '../sync/evidence';
import {
  drainAll,
  inboundUrl,
  openRegion,
  type Region,
  usPiiToTwoJurisdictions,
} from '../sync/harness';

const index = usPiiToTwoJurisdictions();
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';
const T = Date.now() - 60_000;
const CORRECTED_AT = T + 10;
const REGIONS = ['us-east-1', 'ap-southeast-1', 'me-central-1'] as const;

const version = (seed: string, wall: number, email: string) =>
  change({
    seed,
    dataClass: 'pii',
    entityType: 'customer',
    entityKey: 'c-rectify-1',
    homeRegion: 'us-east-1',
    originRegion: 'us-east-1',
    hlc: { wall, logical: 0 },
    payload: { customerId: 'C-RECTIFY-1', name: 'Katherine Coleman', email, country: 'US' },
  });
const wrong = version('rectify-v1', T, 'wrong.address@example.com');
/** An older version still in flight when the request runs (a replay, a late redelivery). */
const late = version('rectify-late', T + 5, 'older.wrong@example.com');
const right = version('rectify-v2', CORRECTED_AT, 'right.address@example.com');

const rectify: SubjectRequest = {
  requestId: uuid('rectify-1'),
  action: 'rectify',
  jurisdiction: 'us',
  entities: [entityRef('customer:c-rectify-1')],
  // What npm run dsr sends for --corrected-at: the last moment before it.
  at: { wall: CORRECTED_AT - 1, logical: 2_147_483_647 },
};

describe('rectification across three regions and jurisdictions', () => {
  const sqs = new FakeSqs();
  const s3 = new FakeS3(REGIONS.flatMap((r) => [`data-${r}`, `audit-${r}`]));
  const regions = {} as Record<(typeof REGIONS)[number], Region>;
  const records: CompletionRecord[] = [];

  beforeAll(async () => {
    regions['us-east-1'] = await openRegion(
      'us-east-1',
      index,
      sqs,
      syncTargets(index, 'us-east-1'),
    );
    for (const r of ['ap-southeast-1', 'me-central-1'] as const)
      regions[r] = await openRegion(r, index, sqs, []);
    const us = regions['us-east-1'];
    // The inaccurate version everywhere the plan sends it.
    await recordChanges(us.t.db, [wrong], strategyOf);
    await us.dispatch();
    await drainAll(regions['ap-southeast-1'], sqs);
    await drainAll(regions['me-central-1'], sqs);
    // The correction, through the application: it reaches APAC; the UAE queue is not drained yet.
    await recordChanges(us.t.db, [right], strategyOf);
    await us.dispatch();
    await drainAll(regions['ap-southeast-1'], sqs);
    // An older version reaches the home late and is sent on before the request runs.
    await recordChanges(us.t.db, [late], strategyOf);
    await us.dispatch();
    // Objects: the profile's old version and its rewrite at home; an old one never rewritten.
    s3.now = () => new Date(T);
    const put = (region: string, Key: string, Body: string) =>
      new S3Client({ region }).send(new PutObjectCommand({ Bucket: `data-${region}`, Key, Body }));
    await put('us-east-1', 'pii/customer/c-rectify-1/profile.json', '{"email":"wrong.address"}');
    await put('us-east-1', 'pii/customer/c-rectify-1/card.json', '{"email":"wrong.address"}');
    // An access request's export, made before the correction: it holds the old values.
    const hash = tombstoneOf(entityRef('customer:c-rectify-1'));
    await put('us-east-1', `dsr-exports/${hash}/${uuid('old-access')}/us-east-1.json`, '{"old":1}');
    s3.now = () => new Date(CORRECTED_AT + 5);
    await put('us-east-1', 'pii/customer/c-rectify-1/profile.json', '{"email":"right.address"}');

    for (const r of REGIONS)
      records.push(
        (
          await handleSubjectRequest(
            {
              db: regions[r].t.db,
              s3: new S3Client({ region: r }),
              region: r,
              auditBucket: `audit-${r}`,
              dataBucket: `data-${r}`,
              prefixesOf: (e) => subjectPrefixes(index, e),
            },
            { request: rectify, deadline: new Date(T + 30 * 86_400_000).toISOString() },
          )
        ).record,
      );
  });
  afterAll(async () => {
    s3.restore();
    sqs.restore();
    await Promise.all(Object.values(regions).map((r) => r.t.close()));
  });

  test('each region removed what predates the correction; the UAE still waits for it', () => {
    expect(records.map((x) => [x.region, x.outcome, x.corrected])).toEqual([
      ['us-east-1', 'done', { present: 1, awaiting: 0 }],
      ['ap-southeast-1', 'done', { present: 1, awaiting: 0 }],
      ['me-central-1', 'done', { present: 0, awaiting: 1 }],
    ]);
    // Home: the sent log of both old versions (the late one was sent on before the request).
    expect(records[0]?.removed).toMatchObject({ replica: 0, sent: 2 });
    // APAC: the correction replaced the inaccurate version (last writer wins keeps no history of
    // it): nothing older is left to remove.
    expect(records[1]?.removed).toEqual({ replica: 0, history: 0, review: 0, outbox: 0, sent: 0 });
    // The UAE: its current copy is the inaccurate one: it goes; the correction is on its way.
    expect(records[2]?.removed).toMatchObject({ replica: 1 });
    expect(records.every((x) => Object.values(x.remaining ?? {}).every((n) => n === 0))).toBe(true);
    // The profile's old version and the old export; the card was never rewritten: it stays, counted.
    expect(records[0]?.objects).toEqual({ removed: 2, notRewritten: 1 });
  });

  test('the corrected version arrives and stays; nothing older comes back, anywhere', async () => {
    // The late older version reaches APAC and the UAE after the request: dropped.
    const [ap] = await drainAll(regions['ap-southeast-1'], sqs);
    expect(ap?.stats).toMatchObject({ erased: 1, written: 0 });
    expect(sqs.queue(inboundUrl('me-central-1')).length).toBe(2);
    const me = await drainAll(regions['me-central-1'], sqs);
    expect(me.map((r) => r.stats?.erased ?? 0).reduce((a, b) => a + b, 0)).toBe(1);
    for (const r of REGIONS)
      expect((await readReplica(regions[r].t.db, 'customer', 'c-rectify-1'))?.version.eventId).toBe(
        right.eventId,
      );
    const key = Buffer.from('key-of-us');
    const old = ['wrong.address@example.com', 'older.wrong@example.com'];
    const needles = [...old, ...old.map((v) => pseudonymise(key, v))];
    for (const r of REGIONS)
      for (const t of Object.values(SUBJECT_TABLES)) {
        const rows = await regions[r].t.db.query<{ p: string }>(
          `SELECT payload::text AS p FROM ${t}`,
        );
        expect(rows.rows.filter((x) => needles.some((n) => x.p.includes(n)))).toEqual([]);
      }
    // The old object version went; the rewrite and the never-rewritten object stay.
    expect(s3.bodies('data-us-east-1').sort()).toEqual([
      '{"email":"right.address"}',
      '{"email":"wrong.address"}',
    ]);
    expect(leaks(records, [wrong, late, right])).toEqual([]);
  });
});
