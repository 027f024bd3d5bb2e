/**
 * Apply treats a message from another region as hostile (issue 17 item 3, in part): a record sent
 * by a region outside its home cell, a clock far ahead, a body over the size apply reads, and
 * malformed fields are parked with a reason that names the field and the rule, never a value of
 * the record. Nothing of them is applied.
 */
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import {
  type ApplyDeps,
  applyAudit,
  applyMessages,
  DEFAULT_MAX_CLOCK_AHEAD_MS,
  MAX_BODY_BYTES,
  safeErrorText,
} from '../../lambda/shared/sync/apply';
import type { ParkedRecord } from '../../lambda/shared/sync/dispatch';
import type { ChangeEvent, SyncMessage } from '../../lambda/shared/sync/events';
import { Masker } from '../../lambda/shared/sync/masking';
import { outboxCounts } from '../../lambda/shared/sync/outbox-store';
import { readReplica, recordChanges } from '../../lambda/shared/sync/replica-store';
import { openTestDb, type TestDb } from '../support/db';
import { FakeSqs } from '../support/fake-sqs';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { change } from './events';
import { deadLetterUrl, openRegion } from './harness';

const index = new ResidencyIndex(load(EIGHT_REGIONS).plan);
const REGION = 'ap-southeast-1';
const NOW = 1_800_000_000_000;
/** Values of the test records: none may appear in a reason. */
const SECRETS = ['ada.lovelace@example.com', 'Lovelace', '4111111111111111', 'c-secret-77'];

let t: TestDb;
const parked: ParkedRecord[] = [];
let deps: ApplyDeps;
beforeAll(async () => {
  t = await openTestDb();
  deps = {
    db: t.db,
    index,
    region: REGION,
    maxAttempts: 3,
    parking: { park: async (records) => void parked.push(...records) },
    invalidator: { invalidate: async () => undefined },
  };
});
afterAll(() => t.close());
beforeEach(() => {
  parked.length = 0;
});

let n = 0;
const record = (over: Partial<ChangeEvent> = {}) =>
  change({
    seed: `hostile-${++n}`,
    dataClass: 'public',
    entityType: 'product',
    entityKey: 'c-secret-77',
    homeRegion: 'us-east-1',
    originRegion: 'us-east-1',
    hlc: { wall: NOW, logical: 0 },
    payload: { owner: 'ada.lovelace@example.com', name: 'Lovelace', card: '4111111111111111' },
    ...over,
  });
const message = (event: unknown, over: Partial<Record<keyof SyncMessage, unknown>> = {}) => ({
  messageId: `h-${++n}`,
  body: JSON.stringify({
    v: 1,
    event,
    mode: 'full',
    maskedFields: [],
    sourceRegion: 'us-east-1',
    ...over,
  }),
  receiveCount: 1,
});

const noValues = (reasons: readonly string[]) => {
  for (const r of reasons) for (const v of SECRETS) expect(r).not.toContain(v);
};

test('a record whose home is spoofed to another cell is refused: only its home cell sends it', async () => {
  // Sent by us-east-1 (cell us), claiming a home in eu-west-1 (cell eu).
  const m = message(record({ homeRegion: 'eu-west-1', originRegion: 'eu-west-1' }));
  const r = await applyMessages(deps, [m], () => NOW);
  expect(r.rejected).toBe(1);
  expect(r.parked).toEqual([
    {
      messageId: m.messageId,
      reason:
        "sender: us-east-1 is not a region of the record's home cell (eu); only that cell's writer sends its records",
    },
  ]);
  expect(await readReplica(t.db, 'product', 'c-secret-77')).toBeUndefined();
});

test('a record that may cross only with consent is refused without it, and applies with it', async () => {
  // apac sends pii to us on consent (jurisdictions.apac.transfers.us.basis: consent).
  const us = { ...deps, region: 'us-east-1' };
  const from = (entityKey: string, over: Partial<ChangeEvent> = {}) =>
    message(
      record({
        dataClass: 'pii',
        entityType: 'customer',
        entityKey,
        homeRegion: 'ap-southeast-1',
        originRegion: 'ap-southeast-1',
        payload: { country: 'SG' },
        ...over,
      }),
      { mode: 'masked', sourceRegion: 'ap-southeast-1' },
    );
  const without = from('consent-no');
  const r = await applyMessages(us, [without], () => NOW);
  expect(r.parked).toEqual([
    {
      messageId: without.messageId,
      reason:
        "residency: pii leaves apac for us only with the subject's consent (jurisdictions.apac.transfers.us.basis: consent) and the record carries none",
    },
  ]);
  expect(await readReplica(t.db, 'customer', 'consent-no')).toBeUndefined();
  const consented = from('consent-yes', { consent: true });
  expect((await applyMessages(us, [consented], () => NOW)).stats).toMatchObject({ fresh: 1 });
  expect(await readReplica(t.db, 'customer', 'consent-yes')).toBeDefined();
});

test('a clock ten years ahead is parked, never applied (it would win its entity for good)', async () => {
  const ahead = message(record({ hlc: { wall: NOW + 10 * 365 * 86_400_000, logical: 0 } }));
  const r = await applyMessages(deps, [ahead], () => NOW);
  expect(r.parked).toEqual([
    {
      messageId: ahead.messageId,
      reason: `hlc: the record's clock is more than ${DEFAULT_MAX_CLOCK_AHEAD_MS} ms ahead of ${REGION}'s`,
    },
  ]);
  expect(await readReplica(t.db, 'product', 'c-secret-77')).toBeUndefined();
  // Within the bound it applies.
  const near = message(record({ hlc: { wall: NOW + DEFAULT_MAX_CLOCK_AHEAD_MS, logical: 0 } }));
  expect((await applyMessages(deps, [near], () => NOW)).stats).toMatchObject({ fresh: 1 });
});

test('a body over the size apply reads is parked at once as a reference, its payload left out', async () => {
  const big = record({ entityKey: 'big-1', payload: { blob: 'x'.repeat(5 * 1024 * 1024) } });
  const m = message(big);
  const r = await applyMessages(deps, [m], () => NOW);
  expect(r.parked).toEqual([
    {
      messageId: m.messageId,
      reason: `oversize: the body is ${Buffer.byteLength(m.body)} bytes, over the ${MAX_BODY_BYTES} apply reads; parked as a reference, its payload left out`,
    },
  ]);
  expect(parked).toEqual([
    expect.objectContaining({ event: { ...big, payload: {} }, reason: r.parked[0]?.reason }),
  ]);
  expect(JSON.stringify(parked).length).toBeLessThan(MAX_BODY_BYTES);
});

test('malformed fields are named with their rule, never their value', async () => {
  const messages = [
    message(record({ entityKey: 'ada.lovelace@example.com' })),
    message(record({ dataClass: 'Lovelace' })),
    message(record(), { v: 'Lovelace' }),
    message(record(), { mode: '4111111111111111' }),
    { messageId: 'h-json', body: '{"owner":"ada.lovelace@example.com",', receiveCount: 1 },
    message({ ...record(), op: 'c-secret-77' }),
  ];
  const r = await applyMessages(deps, messages, () => NOW);
  expect(r.malformed).toBe(messages.length);
  expect(r.parked.map((p) => p.reason)).toEqual([
    'malformed: event.entityKey: expected a key of letters, digits, _ . : -',
    'malformed: event.dataClass: expected a data class id',
    'malformed: v: expected 1',
    'malformed: mode: expected full or masked',
    'malformed: body is not JSON',
    'malformed: event.op: expected upsert or delete',
  ]);
});

test('every reason of these runs is free of the records’ values; errors say their SQLSTATE only', async () => {
  const r = await applyMessages(
    deps,
    [
      message(record({ homeRegion: 'eu-west-1' })),
      message(record({ hlc: { wall: NOW * 2, logical: 0 } })),
      message(record({ entityKey: 'ada.lovelace@example.com' })),
    ],
    () => NOW,
  );
  noValues([...r.parked.map((p) => p.reason), ...parked.map((p) => p.reason)]);
  const pgError = Object.assign(new Error('invalid input syntax for type integer: "Lovelace"'), {
    code: '22P02',
  });
  expect(safeErrorText(pgError)).toBe('SQLSTATE 22P02');
  expect(safeErrorText(new TypeError('Lovelace'))).toBe('TypeError');
});

test('the audit object of an apply run keeps counts and reasons, not the entity keys it touched', async () => {
  const m = message(record({ entityKey: 'c-secret-77', hlc: { wall: NOW + 1, logical: 0 } }));
  const spoofed = message(record({ homeRegion: 'eu-west-1' }));
  const report = await applyMessages(deps, [m, spoofed], () => NOW);
  expect(report.stats?.touched).toEqual(['product:c-secret-77']);
  const audit = applyAudit(report);
  expect(audit.stats).toMatchObject({ entitiesTouched: 1 });
  expect(JSON.stringify(audit)).not.toContain('c-secret-77');
  noValues([JSON.stringify(audit)]);
});

describe('a record labelled masked must be masked as the rules say', () => {
  const masker = new Masker((c) => index.rulesOf(c)?.masking, {
    pseudonymKey: Buffer.from('key-of-us'),
    dataKey: { plaintext: Buffer.alloc(32, 7), wrapped: 'd3JhcHBlZA==' },
  });
  const clear = {
    customerId: 'c-secret-77',
    email: 'ada.lovelace@example.com',
    country: 'GB',
    taxId: '4111111111111111',
    address: { city: 'London', street: 'Lovelace Lane' },
  };
  const masked = (payload: Record<string, unknown>, entityKey: string) =>
    message(record({ dataClass: 'pii', entityType: 'customer', entityKey, payload }), {
      mode: 'masked',
      maskedFields: ['email'],
    });

  test('a real projection passes and applies', async () => {
    const m = masker.mask('pii', 'apac', clear);
    const r = await applyMessages(deps, [masked(m.payload, 'cust-ok')], () => NOW);
    expect(r.parked).toEqual([]);
    expect(r.stats).toMatchObject({ fresh: 1 });
  });

  test('clear values of pseudonymised or encrypted fields, and fields the rules erase, are parked', async () => {
    const proper = masker.mask('pii', 'apac', clear).payload;
    const cases = [
      masked({ ...proper, email: clear.email }, 'cust-1'),
      masked({ ...proper, taxId: clear.taxId }, 'cust-2'),
      masked({ ...proper, address: { city: 'London', street: 'Lovelace Lane' } }, 'cust-3'),
    ];
    const r = await applyMessages(deps, cases, () => NOW);
    expect(r.parked.map((p) => p.reason)).toEqual([
      'masked: email must be a pseudonym (pseudonymise), and is not',
      'masked: taxId must be encrypted (encrypt), and is not',
      'masked: address.street must be erased (no rule keeps it), and is present',
    ]);
    noValues(r.parked.map((p) => p.reason));
    for (const k of ['cust-1', 'cust-2', 'cust-3'])
      expect(await readReplica(t.db, 'customer', k)).toBeUndefined();
  });
});

test('dispatch: a record over the SQS limit is parked at once as a reference that fits; the outbox keeps it', async () => {
  const sqs = new FakeSqs();
  const us = await openRegion('us-east-1', index, sqs, ['eu-west-1']);
  try {
    const big = record({ entityKey: 'big-2', payload: { blob: 'x'.repeat(300 * 1024) } });
    await recordChanges(us.t.db, [big], (c) => index.rulesOf(c)?.conflict ?? 'lww');
    const run = await us.dispatch();
    expect(run).toMatchObject({ claimed: 1, parked: 1, sent: {} });
    const dead = sqs.queue(deadLetterUrl('us-east-1'));
    expect(dead).toHaveLength(1);
    expect(JSON.parse(dead[0]?.body ?? '{}').event).toEqual({ ...big, payload: {} });
    expect(dead[0]?.attributes.reason).toMatch(
      /^message of \d+ bytes exceeds the SQS limit of 262144$/,
    );
    // The whole record stays in the outbox, parked: a redrive finds it there.
    expect(await outboxCounts(us.t.db)).toEqual({ parked: 1 });
  } finally {
    sqs.restore();
    await us.t.close();
  }
});
