/**
 * The split-brain lock of a jurisdiction cell, in DynamoDB: one item per cell with an owner, a
 * lease expiry and a fencing token that grows on every acquisition. Every mutating runbook step
 * calls `fence` first: a conditional write that succeeds only while the caller's token is still
 * the current one and its lease has not expired, so an execution that was paused and lost its
 * lease can never act again, even if it wakes up and tries.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { updateIf } from './conditional';

export interface LockRef {
  readonly table: string;
  /** The cell (jurisdiction) the lock guards. */
  readonly cell: string;
}

export interface Lease {
  readonly owner: string;
  readonly token: number;
  /** Epoch milliseconds. */
  readonly expiresAt: number;
}

export type Acquired =
  | { readonly acquired: true; readonly lease: Lease }
  | { readonly acquired: false; readonly holder?: Lease; readonly reason: string };

/** Raised by `fence` when the caller no longer holds the lock. */
export class FencedError extends Error {
  override readonly name = 'FencedError';
}

const key = (ref: LockRef) => ({ pk: { S: `lock#${ref.cell}` } });

function leaseOf(item: Record<string, { S?: string; N?: string }> | undefined): Lease | undefined {
  if (!item?.owner?.S || !item.token?.N || !item.expiresAt?.N) return undefined;
  return { owner: item.owner.S, token: Number(item.token.N), expiresAt: Number(item.expiresAt.N) };
}

/** Takes the lock if it is free, expired, or already ours; the token grows every time. */
export async function acquire(
  ddb: DynamoDBClient,
  ref: LockRef,
  owner: string,
  leaseSeconds: number,
  now = Date.now(),
): Promise<Acquired> {
  try {
    const out = await ddb.send(
      new UpdateItemCommand({
        TableName: ref.table,
        Key: key(ref),
        UpdateExpression: 'SET #owner = :owner, expiresAt = :exp ADD #token :one',
        ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner',
        ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
        ExpressionAttributeValues: {
          ':owner': { S: owner },
          ':exp': { N: String(now + leaseSeconds * 1000) },
          ':now': { N: String(now) },
          ':one': { N: '1' },
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const lease = leaseOf(out.Attributes as never);
    if (!lease) throw new Error('lock table returned no lease');
    return { acquired: true, lease };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    const held = await ddb.send(
      new GetItemCommand({ TableName: ref.table, Key: key(ref), ConsistentRead: true }),
    );
    const holder = leaseOf(held.Item as never);
    return {
      acquired: false,
      ...(holder ? { holder } : {}),
      reason: holder
        ? `lock held by ${holder.owner} (token ${holder.token}) until ${new Date(holder.expiresAt).toISOString()}`
        : 'lock held',
    };
  }
}

/**
 * Checks, atomically, that `lease` is still the current holder and not expired, and extends it by
 * `leaseSeconds` (a heartbeat). Throws FencedError otherwise. Call before every mutating action.
 */
export async function fence(
  ddb: DynamoDBClient,
  ref: LockRef,
  lease: Lease,
  step: string,
  leaseSeconds: number,
  now = Date.now(),
): Promise<Lease> {
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: ref.table,
        Key: key(ref),
        UpdateExpression: 'SET expiresAt = :exp, lastStep = :step',
        ConditionExpression: '#token = :token AND #owner = :owner AND expiresAt >= :now',
        ExpressionAttributeNames: { '#owner': 'owner', '#token': 'token' },
        ExpressionAttributeValues: {
          ':token': { N: String(lease.token) },
          ':owner': { S: lease.owner },
          ':now': { N: String(now) },
          ':exp': { N: String(now + leaseSeconds * 1000) },
          ':step': { S: step },
        },
      }),
    );
    return { ...lease, expiresAt: now + leaseSeconds * 1000 };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    throw new FencedError(
      `${step}: refused, fencing token ${lease.token} of ${lease.owner} is no longer current (lease lost)`,
    );
  }
}

/**
 * Releases the lock if `lease` still holds it (a lost lock is not an error). The item stays, with
 * its token, so tokens keep growing across acquisitions.
 */
export function release(ddb: DynamoDBClient, ref: LockRef, lease: Lease): Promise<boolean> {
  return updateIf(ddb, {
    TableName: ref.table,
    Key: key(ref),
    UpdateExpression: 'SET expiresAt = :zero, #owner = :none',
    ConditionExpression: '#token = :token',
    ExpressionAttributeNames: { '#token': 'token', '#owner': 'owner' },
    ExpressionAttributeValues: {
      ':token': { N: String(lease.token) },
      ':zero': { N: '0' },
      ':none': { S: '' },
    },
  });
}
