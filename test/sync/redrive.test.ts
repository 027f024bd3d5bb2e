import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import type { ParkedRecord } from '../../lambda/shared/sync/dispatch';
import { parseMessage, type SyncMessage } from '../../lambda/shared/sync/events';
import { outboxCounts } from '../../lambda/shared/sync/outbox-store';
import {
  classify,
  parseRedriveRequest,
  RedriveRequestError,
} from '../../lambda/shared/sync/redrive';
import { readReplica, recordChanges } from '../../lambda/shared/sync/replica-store';
import { parkedBody } from '../../lambda/shared/sync/sqs';
import { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change } from './events';
import { deadLetterUrl, drainAll, inboundUrl, openRegion, type Region } from './harness';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';
const T = Date.now();

describe('classify: what a redrive does with each kind of dead letter', () => {
  const event = change({ seed: 'k', entityType: 'product', entityKey: 'sku-k' });
  const envelope = { mode: 'masked', maskedFields: ['email'], sourceRegion: 'us-east-1' } as const;
  const parked = (over: Partial<ParkedRecord>) =>
    parkedBody({ event, reason: 'x', targets: [], ...over });
  const message: SyncMessage = { v: 1, event, ...envelope };

  test.each([
    [
      'dispatch parked it: the outbox row goes back to pending',
      parked({ reason: 'gave up after 5 attempt(s): timeout', targets: ['eu-west-1'] }),
      { action: 'unpark', eventId: event.eventId },
    ],
    [
      'apply parked it while fenced: the inbound message is rebuilt',
      parked({ reason: 'eu-west-1 is fenced by the failover runbook', inbound: envelope }),
      { action: 'return', eventId: event.eventId, groupId: 'product:sku-k' },
    ],
    [
      'apply failed n times: rebuilt too',
      parked({ reason: 'apply failed 5 time(s): deadlock', inbound: envelope }),
      { action: 'return', eventId: event.eventId },
    ],
    [
      'SQS moved an inbound message after maxReceiveCount: returned as it is',
      JSON.stringify(message),
      { action: 'return', eventId: event.eventId, body: JSON.stringify(message) },
    ],
    [
      'a residency rejection is never redriven',
      parked({ reason: 'residency: pii may not leave eu' }),
      { action: 'hold', why: expect.stringMatching(/never redrive/) },
    ],
    [
      'residency, even when it carries an envelope',
      parked({ reason: 'residency: pii may reach eu-west-1 only masked', inbound: envelope }),
      { action: 'hold' },
    ],
    [
      'a malformed message would fail the same way',
      parked({ reason: 'malformed: body is not JSON' }),
      { action: 'hold', why: expect.stringMatching(/malformed/) },
    ],
    [
      'an apply park without its envelope cannot be rebuilt',
      parked({ reason: 'apply failed 5 time(s): x' }),
      { action: 'hold', why: 'parked without its inbound envelope' },
    ],
    ['a body that is not JSON', 'not json', { action: 'hold', why: 'the body is not JSON' }],
    [
      'an inbound message that does not parse',
      '{"v":1,"mode":"sideways"}',
      { action: 'hold', why: expect.stringMatching(/^mode: expected full or masked/) },
    ],
    [
      'something else',
      '{"hello":"world"}',
      { action: 'hold', why: expect.stringMatching(/^not a parked sync record/) },
    ],
  ])('%s', (_name, body, expected) => {
    expect(classify(body)).toMatchObject(expected);
  });

  test('a rebuilt message is the message apply received: same event, same mode and fields', () => {
    const c = classify(parked({ reason: 'fenced', inbound: envelope }));
    if (c.action !== 'return') throw new Error(`expected return, got ${c.action}`);
    expect(parseMessage(c.body)).toEqual(message);
  });
});

describe('parseRedriveRequest', () => {
  test.each([
    [undefined, {}],
    [{}, {}],
    [
      { reasonContains: 'fenced', max: 50, dryRun: true },
      { reasonContains: 'fenced', max: 50, dryRun: true },
    ],
  ])('%j is read as %j', (raw, expected) => {
    expect(parseRedriveRequest(raw)).toEqual(expected);
  });

  test('every bad field is named in one error', () => {
    let error: unknown;
    try {
      parseRedriveRequest({ reasonContains: '', max: 0, dryRun: 'yes', force: true });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RedriveRequestError);
    expect((error as Error).message.split('\n')).toEqual([
      'invalid redrive request:',
      '  force: unknown field; expected reasonContains, max or dryRun',
      '  reasonContains: got ""; expected non-empty text',
      '  max: got 0; expected an integer from 1 to 100000',
      '  dryRun: got "yes"; expected true or false',
    ]);
  });
});

/**
 * The way back, end to end on Postgres and the SQS fake: records parked at the source (a target
 * down) and at the target (fenced, then failed back) are redriven and applied exactly once; what
 * must not be redriven stays parked with its reason.
 */
describe('redrive: parked records come back once their cause is fixed', () => {
  const sqs = new FakeSqs();
  let fenced = false;
  const isFenced = async () => fenced;
  let us: Region;
  let ap: Region;
  const at = (seed: string, wall: number) => ({
    seed,
    homeRegion: 'us-east-1',
    originRegion: 'us-east-1',
    hlc: { wall, logical: 0 },
  });
  const products = Array.from({ length: 12 }, (_, i) =>
    change({
      ...at(`p-${i}`, T + i),
      dataClass: 'public',
      entityType: 'product',
      entityKey: `sku-${i}`,
      payload: { title: `item ${i}` },
    }),
  );
  const customer = change({
    ...at('c-1', T + 50),
    dataClass: 'pii',
    entityType: 'customer',
    entityKey: 'c-1',
    payload: { customerId: 'C-1', name: 'Ada Lovelace', email: 'ada@example.com', country: 'US' },
  });
  const apDead = () => sqs.queue(deadLetterUrl('ap-southeast-1'));
  const apRows = async () =>
    (await ap.t.db.query<{ event_id: string }>('SELECT event_id FROM meridian_replica')).rows
      .map((r) => r.event_id)
      .sort();

  beforeAll(async () => {
    us = await openRegion('us-east-1', index, sqs, ['ap-southeast-1']);
    ap = await openRegion('ap-southeast-1', index, sqs, ['us-east-1'], {
      fenced: isFenced,
      maxAttempts: 2,
    });
  });
  afterAll(async () => {
    sqs.restore();
    await Promise.all([us, ap].map((r) => r.t.close()));
  });

  test('a fenced target parks what reaches it, with the reason', async () => {
    await recordChanges(us.t.db, [...products.slice(0, 10), customer], strategyOf);
    expect(await us.dispatch()).toMatchObject({ claimed: 11, done: 11, masked: 1 });
    fenced = true;
    await drainAll(ap, sqs);
    expect(apDead()).toHaveLength(11);
    expect(new Set(apDead().map((m) => m.attributes.reason))).toEqual(
      new Set(['ap-southeast-1 is fenced by the failover runbook: not applying']),
    );
    expect(await apRows()).toEqual([]);
  });

  test('a redrive while the region is still fenced does nothing', async () => {
    expect(await ap.redrive()).toMatchObject({ fenced: true, examined: 0, returned: 0 });
    expect(apDead()).toHaveLength(11);
  });

  test('after failback, a dry run counts and changes nothing', async () => {
    fenced = false;
    expect(await ap.redrive({ dryRun: true })).toMatchObject({
      dryRun: true,
      examined: 11,
      returned: 11,
      heldCount: 0,
    });
    expect(apDead()).toHaveLength(11);
    expect(apDead().every((m) => m.inFlight === undefined)).toBe(true);
    expect(sqs.queue(inboundUrl('ap-southeast-1'))).toEqual([]);
  });

  test('a filter on the reason leaves the others where they are', async () => {
    expect(await ap.redrive({ reasonContains: 'apply failed' })).toMatchObject({
      examined: 11,
      skipped: 11,
      returned: 0,
    });
    expect(apDead()).toHaveLength(11);
  });

  test('the redrive returns them; apply applies each once, the masked one still masked', async () => {
    // The inbound queue saw these event ids minutes ago: a redrive that reused them as
    // deduplication ids would be accepted and silently dropped.
    const report = await ap.redrive({ reasonContains: 'fenced' });
    expect(report).toMatchObject({ examined: 11, returned: 11, heldCount: 0, failed: [] });
    expect(apDead()).toEqual([]);
    const applied = await drainAll(ap, sqs);
    expect(applied.reduce((n, r) => n + (r.stats?.fresh ?? 0), 0)).toBe(11);
    expect(applied.reduce((n, r) => n + r.rejected + r.parked.length, 0)).toBe(0);
    expect(await apRows()).toEqual(
      [...products.slice(0, 10), customer].map((e) => e.eventId).sort(),
    );
    const masked = await readReplica(ap.t.db, 'customer', 'c-1');
    expect(masked?.payload).toMatchObject({ customerId: expect.stringMatching(/^pz_/) });
    expect(JSON.stringify(masked)).not.toMatch(/Ada|ada@example.com/);
  });

  test('a redrive that dies before deleting repeats itself; apply ignores the repeat', async () => {
    fenced = true;
    await recordChanges(us.t.db, [products[10] as (typeof products)[number]], strategyOf);
    await us.dispatch();
    await drainAll(ap, sqs);
    expect(apDead()).toHaveLength(1);
    fenced = false;
    sqs.failDeletes = true;
    await expect(ap.redrive()).rejects.toThrow(/ServiceUnavailable/);
    sqs.failDeletes = false;
    // The dead letter is still there once its visibility timeout (6 min) runs out, and is
    // returned again, after the inbound queue's 5-minute deduplication window.
    sqs.expireVisibility(deadLetterUrl('ap-southeast-1'));
    sqs.forgetDeduplication(inboundUrl('ap-southeast-1'));
    expect(await ap.redrive()).toMatchObject({ returned: 1 });
    expect(apDead()).toEqual([]);
    const applied = await drainAll(ap, sqs);
    expect(applied.reduce((n, r) => n + (r.stats?.fresh ?? 0), 0)).toBe(1);
    expect(applied.reduce((n, r) => n + (r.stats?.duplicates ?? 0), 0)).toBe(1);
  });

  test('at the source: a record parked for a target that was down is unparked and delivered', async () => {
    const late = products[11] as (typeof products)[number];
    await recordChanges(us.t.db, [late], strategyOf);
    sqs.down.add('ap-southeast-1');
    for (let i = 0; i < 3; i++) await us.dispatch();
    expect(await outboxCounts(us.t.db)).toEqual({ parked: 1 });
    sqs.down.delete('ap-southeast-1');
    expect(await us.redrive()).toMatchObject({ examined: 1, unparked: 1, alreadySettled: 0 });
    expect(sqs.queue(deadLetterUrl('us-east-1'))).toEqual([]);
    expect(await outboxCounts(us.t.db)).toEqual({ pending: 1 });
    expect(await us.dispatch()).toMatchObject({
      claimed: 1,
      done: 1,
      sent: { 'ap-southeast-1': 1 },
    });
    await drainAll(ap, sqs);
    expect(await readReplica(ap.t.db, 'product', 'sku-11')).toMatchObject({
      version: { eventId: late.eventId },
    });
  });

  test('a second copy of a parked record whose row is no longer parked is settled, not resent', async () => {
    const late = products[11] as (typeof products)[number];
    sqs.inject(
      deadLetterUrl('us-east-1'),
      parkedBody({ event: late, reason: 'gave up', targets: ['ap-southeast-1'] }),
    );
    expect(await us.redrive()).toMatchObject({ unparked: 0, alreadySettled: 1 });
    expect(await outboxCounts(us.t.db)).toEqual({});
  });

  test('what must not be redriven stays parked with its reason; entities behind it wait', async () => {
    const rejected = change({ ...at('r-1', T + 90), dataClass: 'phi', entityKey: 'x-1' });
    sqs.inject(
      deadLetterUrl('ap-southeast-1'),
      parkedBody({ event: rejected, reason: 'residency: phi may not leave us', targets: [] }),
      'customer:x-1',
    );
    sqs.inject(deadLetterUrl('ap-southeast-1'), 'not json', 'unparsed:1');
    const report = await ap.redrive();
    expect(report).toMatchObject({ examined: 2, heldCount: 2, returned: 0 });
    expect(report.held).toEqual([
      {
        eventId: rejected.eventId,
        reason: 'residency: phi may not leave us',
        why: expect.stringMatching(/never redrive/),
      },
      { reason: 'unreadable', why: 'the body is not JSON' },
    ]);
    expect(apDead()).toHaveLength(2);
    expect(apDead().every((m) => m.inFlight === undefined)).toBe(true);
  });

  test('max bounds one run; the rest stay for the next', async () => {
    expect(await ap.redrive({ max: 1 })).toMatchObject({ examined: 1, heldCount: 1 });
    expect(apDead().every((m) => m.inFlight === undefined)).toBe(true);
  });
});
