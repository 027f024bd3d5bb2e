/**
 * Issue 18 part 2, on real Postgres: a US subject's records reach three regions in three
 * jurisdictions (full at home, masked in APAC and the UAE). Access finds every copy with its
 * region; erasure leaves no row, history entry, review row, outbox or sent-log row anywhere
 * (searched by value and by pseudonym), a message sent before the erasure and delivered after it
 * brings nothing back, a version written after it applies, and the completion records hold no value.
 */

import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { handleSubjectRequest } from '../../lambda/shared/dsr/handle';
import { subjectPrefixes } from '../../lambda/shared/dsr/objects';
import { type RegionResult, runInRegion } from '../../lambda/shared/dsr/region-run';
import { entityRef, reachOf, type SubjectRequest } from '../../lambda/shared/dsr/subject';
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
const T = Date.now();
const DEADLINE = new Date(T + 30 * 86_400_000);

const person = (seed: string, wall: number, key: string, over: Record<string, unknown> = {}) =>
  change({
    seed,
    dataClass: 'pii',
    entityType: 'customer',
    entityKey: key,
    homeRegion: 'us-east-1',
    originRegion: 'us-east-1',
    hlc: { wall, logical: 0 },
    payload: {
      customerId: 'C-DSR-1',
      name: 'Grace Hopper',
      email: 'grace.hopper@example.com',
      country: 'US',
      ...over,
    },
  });
const v1 = person('dsr-v1', T, 'c-dsr-1');
const v2 = person('dsr-v2', T + 1, 'c-dsr-1', { email: 'g.hopper@example.com' });
const subject = [v1, v2];
const other = person('dsr-other', T, 'c-other-1', {
  customerId: 'C-OTHER-1',
  name: 'Alan Turing',
  email: 'alan@example.com',
});
/** Sent before the erasure, delivered after it. */
const late = person('dsr-v3', T + 2, 'c-dsr-1', { email: 'late@example.com' });
const request = (action: 'access' | 'erase', seed: string): SubjectRequest => ({
  requestId: uuid(seed),
  action,
  jurisdiction: 'us',
  entities: [entityRef('customer:c-dsr-1')],
  at: { wall: T + 5, logical: 0 },
});

const TABLES = [
  'meridian_replica',
  'meridian_replica_history',
  'meridian_review',
  'meridian_outbox',
  'meridian_outbox_sent',
];

/** Every needle any table of `r` still holds, in an entity key or anywhere in a payload. */
async function traces(r: Region, needles: readonly string[]): Promise<string[]> {
  const found: string[] = [];
  for (const t of TABLES) {
    const rows = await r.t.db.query<{ k: string; p: string }>(
      `SELECT entity_key AS k, payload::text AS p FROM ${t}`,
    );
    for (const row of rows.rows)
      for (const n of needles)
        if (row.k === n || row.p.includes(n)) found.push(`${r.id} ${t}: ${n}`);
  }
  return found;
}

describe('data-subject requests across three regions and jurisdictions', () => {
  const sqs = new FakeSqs();
  const s3 = new FakeS3(
    ['us-east-1', 'ap-southeast-1', 'me-central-1'].flatMap((r) => [`data-${r}`, `audit-${r}`]),
  );
  let us: Region;
  let ap: Region;
  let me: Region;
  const regions = () => [us, ap, me];

  beforeAll(async () => {
    us = await openRegion('us-east-1', index, sqs, syncTargets(index, 'us-east-1'));
    ap = await openRegion('ap-southeast-1', index, sqs, []);
    me = await openRegion('me-central-1', index, sqs, []);
    await recordChanges(us.t.db, [v1, other], strategyOf);
    await us.dispatch();
    await recordChanges(us.t.db, [v2], strategyOf);
    await us.dispatch();
    await drainAll(ap, sqs);
    await drainAll(me, sqs);
    // Objects under the class prefixes: the full one at home, masked ones where the plan sent
    // them (two versions each), and another customer's everywhere.
    const where = {
      'us-east-1': 'pii',
      'ap-southeast-1': 'masked/apac/pii',
      'me-central-1': 'masked/ae/pii',
    };
    for (const [region, prefix] of Object.entries(where)) {
      const client = new S3Client({ region });
      const put = (Key: string, Body: string) =>
        client.send(new PutObjectCommand({ Bucket: `data-${region}`, Key, Body }));
      await put(`${prefix}/customer/c-dsr-1/profile.json`, '{"name":"Grace Hopper"}');
      await put(`${prefix}/customer/c-dsr-1/profile.json`, '{"name":"Grace B. Hopper"}');
      await put(`pii/customer/c-other-1/${region}.json`, '{"name":"Alan Turing"}');
    }
  });
  afterAll(async () => {
    s3.restore();
    sqs.restore();
    await Promise.all(regions().map((r) => r.t.close()));
  });

  test('the plan says where a US subject can be: its cell, APAC and the UAE', () => {
    expect(reachOf(index, 'us', ['pii'])).toEqual([
      'ap-southeast-1',
      'me-central-1',
      'us-east-1',
      'us-west-2',
    ]);
  });

  test('access returns every copy with its region; the record counts them', async () => {
    const results: RegionResult[] = [];
    for (const r of regions())
      results.push(await runInRegion(r.t.db, r.id, request('access', 'dsr-access'), DEADLINE));
    const where = results.flatMap((x) =>
      (x.copies ?? []).map((c) => `${x.record.region} ${c.table} ${c.eventId}`),
    );
    expect(where.sort()).toEqual(
      [
        `ap-southeast-1 replica ${v2.eventId}`,
        `me-central-1 replica ${v2.eventId}`,
        `us-east-1 replica ${v2.eventId}`,
        `us-east-1 sent ${v1.eventId}`,
        `us-east-1 sent ${v2.eventId}`,
      ].sort(),
    );
    // Masked where the plan says: the foreign copies hold pseudonyms, not the email.
    const apCopy = results[1]?.copies?.[0]?.payload as Record<string, unknown>;
    expect(apCopy.email).toBe(pseudonymise(Buffer.from('key-of-us'), 'g.hopper@example.com'));
    expect(results.map((x) => x.record.found?.replica)).toEqual([1, 1, 1]);
  });

  test('erasure leaves nothing anywhere, and a message sent before it brings nothing back', async () => {
    await recordChanges(us.t.db, [late], strategyOf);
    await us.dispatch();
    expect(sqs.queue(inboundUrl('ap-southeast-1')).length).toBe(1);

    const erase = request('erase', 'dsr-erase');
    const records = [];
    for (const r of regions())
      records.push(
        (
          await handleSubjectRequest(
            {
              db: r.t.db,
              s3: new S3Client({ region: r.id }),
              region: r.id,
              auditBucket: `audit-${r.id}`,
              dataBucket: `data-${r.id}`,
              prefixesOf: (e) => subjectPrefixes(index, e),
            },
            { request: erase, deadline: DEADLINE.toISOString() },
          )
        ).record,
      );
    expect(records.map((x) => [x.region, x.outcome, x.onTime])).toEqual([
      ['us-east-1', 'done', true],
      ['ap-southeast-1', 'done', true],
      ['me-central-1', 'done', true],
    ]);
    expect(records[0]?.removed).toEqual({ replica: 1, history: 0, review: 0, outbox: 0, sent: 3 });
    // Each region's own objects (S3 replication carries no version deletion): every version gone.
    expect(records.map((x) => x.objects)).toEqual([
      { removed: 1, remaining: 0 },
      { removed: 1, remaining: 0 },
      { removed: 1, remaining: 0 },
    ]);
    for (const r of regions()) {
      expect(s3.keys(`data-${r.id}`)).toEqual([`pii/customer/c-other-1/${r.id}.json`]);
      for (const b of [`data-${r.id}`, `audit-${r.id}`])
        expect(s3.bodies(b).filter((x) => /Grace|hopper|C-DSR-1|c-dsr-1/.test(x))).toEqual([]);
    }

    // The late message arrives after the erasure: dropped, with its reason in the lineage.
    const [report] = await drainAll(ap, sqs);
    await drainAll(me, sqs);
    expect(report?.stats).toMatchObject({ erased: 1, written: 0 });
    expect(report?.records[0]?.hops[0]?.outcome).toBe('erased');

    const key = Buffer.from('key-of-us');
    const needles = [
      'c-dsr-1',
      'C-DSR-1',
      'Grace Hopper',
      'grace.hopper@example.com',
      'g.hopper@example.com',
      'late@example.com',
      pseudonymise(key, 'C-DSR-1'),
      pseudonymise(key, 'grace.hopper@example.com'),
      pseudonymise(key, 'g.hopper@example.com'),
      pseudonymise(key, 'late@example.com'),
    ];
    for (const r of regions()) expect(await traces(r, needles)).toEqual([]);
    // The other customer is untouched everywhere the plan sent it.
    for (const r of regions())
      expect((await readReplica(r.t.db, 'customer', 'c-other-1'))?.version.eventId).toBe(
        other.eventId,
      );

    // The completion records are evidence without a value or an entity key in them.
    expect(leaks(records, [...subject, late])).toEqual([]);
  });

  test('a version written after the erasure applies as usual (the subject came back)', async () => {
    const again = person('dsr-v4', T + 10, 'c-dsr-1', { email: 'new@example.com' });
    await recordChanges(us.t.db, [again], strategyOf);
    await us.dispatch();
    await drainAll(ap, sqs);
    expect((await readReplica(ap.t.db, 'customer', 'c-dsr-1'))?.version.eventId).toBe(
      again.eventId,
    );
  });
});
