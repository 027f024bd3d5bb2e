import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { acquire, FencedError, fence, release } from '../../lambda/shared/failover/lock';
import { FakeDynamoDb } from '../../lib/failover/drill/fake-dynamodb';

let fake: FakeDynamoDb;
const ddb = new DynamoDBClient({ region: 'eu-west-1' });
const ref = { table: 'meridian-prod-eu-failover-lock', cell: 'eu' };
beforeEach(() => {
  fake = new FakeDynamoDb();
});
afterEach(() => fake.restore());

describe('split-brain lock', () => {
  test('two executions started together: exactly one acquires, the other learns who holds it', async () => {
    const [a, b] = await Promise.all([
      acquire(ddb, ref, 'exec-a', 300, 1000),
      acquire(ddb, ref, 'exec-b', 300, 1000),
    ]);
    expect([a.acquired, b.acquired].filter(Boolean)).toHaveLength(1);
    const loser = a.acquired ? b : a;
    expect(loser).toMatchObject({
      acquired: false,
      reason: expect.stringMatching(/^lock held by exec-[ab] \(token 1\)/),
      holder: { owner: a.acquired ? 'exec-a' : 'exec-b', token: 1, expiresAt: 301_000 },
    });
  });

  test('an expired lease is taken over with a higher token, and the stale holder is fenced', async () => {
    const first = await acquire(ddb, ref, 'exec-a', 60, 0);
    if (!first.acquired) throw new Error('first acquire failed');
    const second = await acquire(ddb, ref, 'exec-b', 60, 61_000);
    expect(second).toMatchObject({ acquired: true, lease: { owner: 'exec-b', token: 2 } });
    await expect(fence(ddb, ref, first.lease, 'promote-aurora', 60, 62_000)).rejects.toThrow(
      new FencedError(
        'promote-aurora: refused, fencing token 1 of exec-a is no longer current (lease lost)',
      ),
    );
    if (!second.acquired) throw new Error('second acquire failed');
    await expect(
      fence(ddb, ref, second.lease, 'promote-aurora', 60, 62_000),
    ).resolves.toMatchObject({ token: 2 });
  });

  test('a holder whose lease ran out is fenced even if no one took the lock', async () => {
    const a = await acquire(ddb, ref, 'exec-a', 60, 0);
    if (!a.acquired) throw new Error('acquire failed');
    await expect(fence(ddb, ref, a.lease, 'shift-traffic', 60, 60_001)).rejects.toBeInstanceOf(
      FencedError,
    );
  });

  test('fence extends the lease (heartbeat); release frees it and tokens keep growing', async () => {
    const a = await acquire(ddb, ref, 'exec-a', 60, 0);
    if (!a.acquired) throw new Error('acquire failed');
    const renewed = await fence(ddb, ref, a.lease, 'fence-region', 60, 50_000);
    expect(renewed.expiresAt).toBe(110_000);
    expect(await release(ddb, ref, renewed)).toBe(true);
    expect(await release(ddb, ref, renewed)).toBe(true);
    const b = await acquire(ddb, ref, 'exec-b', 60, 51_000);
    expect(b).toMatchObject({ acquired: true, lease: { token: 2 } });
    // The released, stale lease cannot act any more.
    await expect(fence(ddb, ref, renewed, 'verify-target', 60, 52_000)).rejects.toBeInstanceOf(
      FencedError,
    );
    expect(await release(ddb, ref, renewed)).toBe(false);
  });

  test('the item records the holder, its lease and last step; release clears it but keeps the token', async () => {
    const item = () => fake.table(ref.table).get(JSON.stringify({ pk: { S: 'lock#eu' } }));
    const a = await acquire(ddb, ref, 'exec-a', 60, 0);
    if (!a.acquired) throw new Error('acquire failed');
    await fence(ddb, ref, a.lease, 'promote-aurora', 60, 50_000);
    expect(item()).toMatchObject({
      owner: { S: 'exec-a' },
      token: { N: '1' },
      expiresAt: { N: '110000' },
      lastStep: { S: 'promote-aurora' },
    });
    // Another execution inside the extended lease is refused.
    expect(await acquire(ddb, ref, 'exec-b', 60, 109_000)).toMatchObject({ acquired: false });
    await release(ddb, ref, a.lease);
    expect(item()).toMatchObject({ owner: { S: '' }, token: { N: '1' }, expiresAt: { N: '0' } });
  });

  test('each cell has its own lock', async () => {
    expect(await acquire(ddb, ref, 'exec-a', 60, 0)).toMatchObject({ acquired: true });
    expect(await acquire(ddb, { ...ref, cell: 'us' }, 'exec-b', 60, 0)).toMatchObject({
      acquired: true,
    });
  });

  test('a fenced holder gets a FencedError by name', async () => {
    const a = await acquire(ddb, ref, 'exec-a', 60, 0);
    if (!a.acquired) throw new Error('acquire failed');
    await expect(fence(ddb, ref, a.lease, 'record', 60, 61_000)).rejects.toMatchObject({
      name: 'FencedError',
    });
  });
});

/** A client whose answers the test scripts, recording what was sent. */
function scripted(...answers: Array<(input: unknown) => unknown>) {
  const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
  const client = {
    send: async (c: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ command: c.constructor.name, input: c.input });
      const answer = answers.shift();
      if (!answer) throw new Error('no scripted answer');
      return answer(c.input);
    },
  } as unknown as DynamoDBClient;
  return { client, sent };
}
const conditionFailed = () => {
  throw new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
  });
};
const throttled = () => {
  throw new Error('throttled');
};

describe('split-brain lock against what DynamoDB may answer', () => {
  test('acquire asks for the new item back, and reads the holder strongly consistently', async () => {
    const { client, sent } = scripted(conditionFailed, () => ({ Item: undefined }));
    await acquire(client, ref, 'exec-a', 60, 0);
    expect(sent.map((s) => s.command)).toEqual([UpdateItemCommand.name, GetItemCommand.name]);
    expect(sent[0]?.input).toMatchObject({ ReturnValues: 'ALL_NEW' });
    expect(sent[1]?.input).toMatchObject({ ConsistentRead: true });
  });

  test('a holder that vanished or is incomplete is reported as "lock held", with no holder', async () => {
    const full = { owner: { S: 'exec-b' }, token: { N: '3' }, expiresAt: { N: '9' } };
    const { owner: _o, ...noOwner } = full;
    const { token: _t, ...noToken } = full;
    const { expiresAt: _e, ...noExpiry } = full;
    for (const Item of [undefined, noOwner, noToken, noExpiry]) {
      const { client } = scripted(conditionFailed, () => ({ Item }));
      const got = await acquire(client, ref, 'exec-a', 60, 0);
      expect(got).toEqual({ acquired: false, reason: 'lock held' });
    }
  });

  test('an update that returns no item is an error, not a lease', async () => {
    const { client } = scripted(() => ({}));
    await expect(acquire(client, ref, 'exec-a', 60, 0)).rejects.toThrow(
      'lock table returned no lease',
    );
  });

  test('errors other than a failed condition propagate from acquire, fence and release', async () => {
    const lease = { owner: 'exec-a', token: 1, expiresAt: 60_000 };
    await expect(
      acquire(scripted(throttled, () => ({})).client, ref, 'exec-a', 60, 0),
    ).rejects.toThrow('throttled');
    await expect(fence(scripted(throttled).client, ref, lease, 'record', 60, 0)).rejects.toThrow(
      'throttled',
    );
    await expect(release(scripted(throttled).client, ref, lease)).rejects.toThrow('throttled');
  });
});
