import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
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
});
