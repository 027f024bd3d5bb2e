/**
 * Issue 18 part 1: a record's journey — dispatched from its home, masked to two targets, applied in
 * one, parked in the other (then redriven and applied) and withheld from the rest — is reconstructed
 * from the audit objects alone, by event and by entity token, and no audit object holds a value of
 * the test's records. The audit objects are written by the real writer to a recording S3 fake; their
 * keys and fields are checked against the Glue table the stacks define over the bucket.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { applyAudit } from '../../lambda/shared/sync/apply';
import { auditKey, writeAudit } from '../../lambda/shared/sync/aws';
import { parseMessage } from '../../lambda/shared/sync/events';
import type { LineageRecord } from '../../lambda/shared/sync/lineage';
import { recordChanges } from '../../lambda/shared/sync/replica-store';
import { syncTargets } from '../../lambda/shared/sync/routes';
import { type AuditObject, journeyOf, renderJourney, whereNow } from '../../lib/lineage/journey';
import { entityToken, lineageSql } from '../../lib/lineage/query';
import { Naming } from '../../lib/naming';
import { LineageTable, RECORD_COLUMNS } from '../../lib/sync/lineage-table';
import { FakeSqs } from '../support/fake-sqs';
import { change } from './events';
import { leaks } from './evidence';
import {
  deadLetterUrl,
  drainAll,
  inboundUrl,
  openRegion,
  type Region,
  usPiiToTwoJurisdictions,
} from './harness';

const index = usPiiToTwoJurisdictions();
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';
const T = Date.now();
const BUCKET = 'meridian-test-audit';

/** The audit bucket: every object the real writer puts, by key (S3 keeps what it is given). */
const objects = new Map<string, string>();
const s3mock = mockClient(S3Client);
s3mock.on(PutObjectCommand).callsFake((input: { Bucket: string; Key: string; Body: string }) => {
  if (input.Bucket !== BUCKET) throw new Error(`NoSuchBucket: ${input.Bucket}`);
  objects.set(input.Key, input.Body);
  return {};
});
const s3client = new S3Client({ region: 'us-east-1' });
const audit = () => [...objects.values()].map((b) => JSON.parse(b) as AuditObject);

const customer = (seed: string, wall: number, email: string) =>
  change({
    seed,
    dataClass: 'pii',
    entityType: 'customer',
    entityKey: 'c-lineage-1',
    homeRegion: 'us-east-1',
    originRegion: 'us-east-1',
    hlc: { wall, logical: 0 },
    payload: {
      customerId: 'C-LINEAGE-1',
      email,
      name: 'Katherine Johnson',
      country: 'US',
      taxId: '123-45-6789',
    },
  });
const first = customer('lineage-v1', T, 'katherine@example.com');
const second = customer('lineage-v2', T + 10, 'k.johnson@example.com');

describe('record lineage from audit objects alone', () => {
  const sqs = new FakeSqs();
  let meFenced = true;
  let us: Region;
  let ap: Region;
  let me: Region;
  let applyRuns = 0;
  const dispatch = async () => {
    const report = await us.dispatch();
    await writeAudit(s3client, BUCKET, 'dispatch', 'us-east-1', report.worker, report);
    return report;
  };
  const drain = async (r: Region) => {
    for (const report of await drainAll(r, sqs))
      await writeAudit(s3client, BUCKET, 'apply', r.id, `apply-${++applyRuns}`, applyAudit(report));
  };

  beforeAll(async () => {
    us = await openRegion('us-east-1', index, sqs, syncTargets(index, 'us-east-1'));
    ap = await openRegion('ap-southeast-1', index, sqs, []);
    me = await openRegion('me-central-1', index, sqs, [], {
      fenced: async () => meFenced,
      maxAttempts: 1,
    });
    await recordChanges(us.t.db, [first], strategyOf);
    await dispatch();
    await drain(ap);
    await drain(me);
    // The UAE's cause is fixed; its parked copy is redriven and applied. Then a second version.
    meFenced = false;
    await me.redrive();
    await drain(me);
    await recordChanges(us.t.db, [second], strategyOf);
    await dispatch();
    await drain(ap);
    await drain(me);
  });
  afterAll(async () => {
    sqs.restore();
    s3mock.restore();
    await Promise.all([us, ap, me].map((r) => r.t.close()));
  });

  test('the journey of one version: withheld, masked to two targets, applied in one, parked then applied in the other', () => {
    const steps = journeyOf(audit(), { eventId: first.eventId });
    const line = (s: (typeof steps)[number]) =>
      [
        s.stage,
        s.region,
        s.hop.target,
        s.hop.decision,
        s.hop.mode ?? '-',
        s.hop.basis ?? '-',
        s.hop.outcome,
      ].join(' ');
    expect(steps.map(line)).toEqual([
      'dispatch us-east-1 ap-south-1 denied - - withheld',
      'dispatch us-east-1 ap-southeast-1 allowed masked not-restricted sent',
      'dispatch us-east-1 eu-west-1 denied - - withheld',
      'dispatch us-east-1 me-central-1 allowed masked contractual-clauses sent',
      'apply ap-southeast-1 ap-southeast-1 allowed masked not-restricted applied',
      'apply me-central-1 me-central-1 allowed masked contractual-clauses parked',
      'apply me-central-1 me-central-1 allowed masked contractual-clauses applied',
    ]);
    // One correlation id from dispatch to every apply, and the entity token with it.
    const dispatched = steps[0]?.record as LineageRecord;
    for (const s of steps) {
      expect(s.record.correlationId).toBe(dispatched.correlationId);
      expect(s.record.entity).toBe(dispatched.entity);
      expect(s.record).toMatchObject({ dataClass: 'pii', homeRegion: 'us-east-1', op: 'upsert' });
    }
    const sent = steps.filter((s) => s.hop.outcome === 'sent');
    for (const s of sent)
      expect([...s.hop.maskedFields].sort()).toEqual(['customerId', 'email', 'name', 'taxId']);
    expect(steps.find((s) => s.hop.outcome === 'parked')?.hop.reason).toBe(
      'me-central-1 is fenced by the failover runbook: not applying',
    );
    expect(steps[0]?.hop.rule).toMatch(/^pii is jurisdiction-bound/);
    expect(steps[1]?.hop.rule).toBe('dataClasses.pii: masked us → apac');
    expect(whereNow(steps).map((w) => `${w.region} ${w.outcome}`)).toEqual([
      'ap-south-1 withheld',
      'ap-southeast-1 applied',
      'eu-west-1 withheld',
      'me-central-1 applied',
    ]);
  });

  test('an entity is found by its token, every version of it; where it is now follows the newer one', () => {
    const token = entityToken('customer:c-lineage-1', 'key-of-us');
    const steps = journeyOf(audit(), { entity: token });
    expect(new Set(steps.map((s) => s.record.eventId))).toEqual(
      new Set([first.eventId, second.eventId]),
    );
    const now = whereNow(steps).filter((w) => w.eventId === second.eventId);
    expect(now.map((w) => `${w.region} ${w.outcome}`)).toEqual([
      'ap-south-1 withheld',
      'ap-southeast-1 applied',
      'eu-west-1 withheld',
      'me-central-1 applied',
    ]);
    // Under another jurisdiction's key the token names nothing.
    expect(
      journeyOf(audit(), { entity: entityToken('customer:c-lineage-1', 'key-of-eu') }),
    ).toEqual([]);
    expect(renderJourney(steps)).toContain('Where it is now:');
  });

  test('no audit object holds a value of the records, nor their entity key', () => {
    expect(objects.size).toBeGreaterThanOrEqual(6);
    expect(leaks(audit(), [first, second])).toEqual([]);
    for (const body of objects.values()) {
      expect(body).not.toContain('c-lineage-1');
      expect(body).not.toMatch(/Katherine|Johnson|123-45-6789|C-LINEAGE-1/i);
    }
  });

  test('npm run lineage --from reads copied audit objects and prints the journey; an entity key needs the pseudonym key', () => {
    const root = path.join(__dirname, '..', '..');
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-audit-'));
    for (const [key, body] of objects) {
      fs.mkdirSync(path.dirname(path.join(out, key)), { recursive: true });
      fs.writeFileSync(path.join(out, key), body);
    }
    const run = (...args: string[]) =>
      spawnSync('node', [path.join(root, 'node_modules/.bin/tsx'), 'bin/lineage.ts', ...args], {
        cwd: root,
        encoding: 'utf8',
      });
    const keyFile = path.join(out, 'key');
    fs.writeFileSync(keyFile, 'key-of-us\n');
    const r = run('--entity', 'customer:c-lineage-1', '--key-file', keyFile, '--from', out);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`${first.eventId}  me-central-1: applied`);
    expect(r.stdout).toContain(`${second.eventId}  eu-west-1: withheld`);
    expect(r.stdout).not.toContain('c-lineage-1');
    const noKey = run('--entity', 'customer:c-lineage-1');
    expect(noKey.status).toBe(1);
    expect(noKey.stderr.split('\n')[0]).toBe(
      "--entity needs --key-file <file>: the home jurisdiction's pseudonym key (see below)",
    );
  });

  test('the message carries the dispatch run and the entity token; a forged token is refused', async () => {
    await recordChanges(us.t.db, [customer('lineage-v3', T + 20, 'kj@example.com')], strategyOf);
    await us.dispatch();
    const [m] = sqs.receive(inboundUrl('ap-southeast-1'), 1);
    const body = JSON.parse(String(m?.body));
    expect(parseMessage(JSON.stringify(body)).lineage).toEqual({
      correlationId: expect.stringMatching(/^us-east-1-w\d+$/),
      entity: entityToken('customer:c-lineage-1', 'key-of-us'),
    });
    expect(() =>
      parseMessage(
        JSON.stringify({ ...body, lineage: { ...body.lineage, entity: 'c-lineage-1' } }),
      ),
    ).toThrow('lineage: expected {correlationId, entity token}');
    expect(sqs.queue(deadLetterUrl('us-east-1'))).toEqual([]);
  });
});

describe('the Glue table over the audit bucket', () => {
  const stack = new Stack(new App(), 'T', {
    env: { account: '111111111111', region: 'eu-west-1' },
  });
  const bucket = new s3.Bucket(stack, 'Audit', { bucketName: BUCKET });
  const naming = new Naming('meridian', 'test');
  new LineageTable(stack, 'Lineage', {
    naming,
    region: 'eu-west-1',
    auditBucket: bucket,
    key: new kms.Key(stack, 'Key'),
  });
  const template = Template.fromStack(stack);
  const table = Object.values(template.findResources('AWS::Glue::Table'))[0] as {
    Properties: { TableInput: Record<string, never> };
  };
  const input = table.Properties.TableInput as unknown as {
    Name: string;
    Parameters: Record<string, string>;
    PartitionKeys: { Name: string }[];
    StorageDescriptor: { Columns: { Name: string; Type: string }[]; Location: unknown };
  };

  test('its partitions are where the writer puts the objects', () => {
    const at = new Date('2026-12-07T10:00:00Z');
    // `s3://` + the bucket (a reference) + the path: the path is the joined strings' tail.
    const joined = input.Parameters['storage.location.template'] as unknown as {
      'Fn::Join': [string, unknown[]];
    };
    const template = joined['Fn::Join'][1].filter((p) => typeof p === 'string').join('');
    for (const kind of String(input.Parameters['projection.kind.values']).split(',')) {
      const prefix = template
        .replace(/^s3:\/\//, '')
        .replace(/^\//, '')
        .replace(/\$\{kind\}/, kind)
        .replace(/\$\{day\}/, '2026/12/07')
        .replace(/\$\{region\}/, 'eu-west-1');
      expect(auditKey(kind, 'eu-west-1', 'x', at)).toBe(`${prefix}x.json`);
    }
    expect(input.Parameters['projection.day.format']).toBe('yyyy/MM/dd');
    expect(input.PartitionKeys.map((k) => k.Name)).toEqual(['kind', 'day', 'region']);
  });

  test('its columns name every field a lineage record carries, and the query reads them', () => {
    const records = input.StorageDescriptor.Columns.find((c) => c.Name === 'records')?.Type ?? '';
    for (const field of Object.keys(RECORD_COLUMNS))
      expect(records).toContain(`${field.toLowerCase()}:`);
    const sql = lineageSql(naming, 'eu-west-1', { eventId: first.eventId }, '2026-12-01');
    expect(sql).toContain(`FROM "${naming.auditDatabase('eu-west-1')}"."${input.Name}"`);
    for (const col of ['hops', 'maskedfields', 'outcome', 'forwardedto', 'correlationid'])
      expect(records).toContain(col);
    expect(sql).toContain(`l."day" >= '2026/12/01'`);
  });
});
