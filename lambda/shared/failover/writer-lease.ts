/**
 * The writer's lease (issue 25 item 3): the region whose Aurora cluster takes the cell's writes
 * holds a short lease in the cell's lock table (item `writer#<cell>`), renewed every few seconds
 * by the writer itself (lambda/shared/failover/writer-keeper.ts). When it cannot renew, it fences
 * itself before the lease ends: its database turns read-only from inside its own region
 * (db-fence.ts), its health endpoint answers "fenced". A takeover promotes only after the old
 * writer's lease has run out plus the clock-skew bound, so the new writer never overlaps the old
 * one — the fencing of Chubby and etcd leases, with Aurora as the resource fenced.
 *
 * Strongly consistent: the lock table is an MRSC global table (or a single-home table outside the
 * cell, lib/failover/lock-plan.ts); a renewal or a takeover is one conditional write that only a
 * majority of its replicas can accept, so the holder and a taker can never both succeed.
 *
 * The lease holds no personal data: a region id and instants.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
  type UpdateItemCommandInput,
} from '@aws-sdk/client-dynamodb';
import { updateIf } from './conditional';

/**
 * How far apart two Lambda clocks may be, with margin: Lambda hosts synchronize with the Amazon
 * Time Sync Service, whose published error bound is in microseconds to milliseconds
 * (https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/set-time.html).
 */
export const CLOCK_SKEW_BOUND_SECONDS = 5;

/** The writer lease's timing: the keeper, the promote step and the drill are built from these. */
export const WRITER_LEASE = {
  /** How long one renewal holds. */
  seconds: 30,
  /** How often the writer renews (the keeper's rounds, six per one-minute invocation). */
  renewSeconds: 10,
  /** How long one renewal call (and one fencing statement) may take before it has failed. */
  callTimeoutMs: 3000,
} as const;

/**
 * How long before the lease ends the writer must have fenced: it fences at the first round that
 * might otherwise be its last before the end (the next round, plus a call that times out, plus
 * the fencing itself).
 */
export const FENCE_MARGIN_MS = WRITER_LEASE.renewSeconds * 1000 + 2 * WRITER_LEASE.callTimeoutMs;

export interface WriterLeaseRef {
  readonly table: string;
  /** The cell (jurisdiction) whose writer holds the lease. */
  readonly cell: string;
}

export interface WriterLease {
  readonly holder: string;
  /** Epoch milliseconds, by the holder's clock. */
  readonly expiresAt: number;
  /** Grows every time the lease changes hands. */
  readonly epoch: number;
  /**
   * A takeover by this region is waiting for the lease to end: the holder may not renew it (it
   * fences itself at its next round). Empty or absent: not revoked.
   */
  readonly revokedFor?: string;
}

const key = (ref: WriterLeaseRef) => ({ pk: { S: `writer#${ref.cell}` } });

/** The lease an item holds, if it holds one. */
export function leaseOf(
  item: Record<string, { S?: string; N?: string }> | undefined,
): WriterLease | undefined {
  if (!item?.holder?.S || !item.expiresAt?.N) return undefined;
  return {
    holder: item.holder.S,
    expiresAt: Number(item.expiresAt.N),
    epoch: Number(item.epoch?.N ?? 0),
    ...(item.revokedFor?.S ? { revokedFor: item.revokedFor.S } : {}),
  };
}

/** Reads the lease (strongly consistent); undefined when no writer ever held it. */
export async function readWriterLease(
  ddb: DynamoDBClient,
  ref: WriterLeaseRef,
): Promise<WriterLease | undefined> {
  const out = await ddb.send(
    new GetItemCommand({ TableName: ref.table, Key: key(ref), ConsistentRead: true }),
  );
  return leaseOf(out.Item as never);
}

export type Renewal =
  | { readonly held: true; readonly lease: WriterLease }
  /** Another region holds the lease: this one is not the writer and must stay fenced. */
  | { readonly held: false; readonly holder?: WriterLease };

/** The conditional write of a renewal (the drill's world applies the same one). */
export function renewInput(
  ref: WriterLeaseRef,
  region: string,
  opts: { readonly now: number; readonly initial: boolean },
): UpdateItemCommandInput {
  return {
    TableName: ref.table,
    Key: key(ref),
    UpdateExpression: 'SET holder = :me, expiresAt = :exp, renewedAt = :now',
    // Ours and not revoked (AND binds tighter than OR); the first writer may also create it.
    ConditionExpression: [
      'holder = :me AND attribute_not_exists(revokedFor)',
      'holder = :me AND revokedFor = :none',
      ...(opts.initial ? ['attribute_not_exists(holder)'] : []),
    ].join(' OR '),
    ExpressionAttributeValues: {
      ':me': { S: region },
      ':none': { S: '' },
      ':exp': { N: String(opts.now + WRITER_LEASE.seconds * 1000) },
      ':now': { N: String(opts.now) },
    },
    ReturnValues: 'ALL_NEW',
  };
}

/**
 * The writer renews its lease: it succeeds while the lease is this region's and not revoked,
 * expired or not (an expired lease nobody took means nobody promoted: the writer may carry on). The cell's first
 * writer (`initial`, the primary of regions/) creates it. Any other outcome is an answer that
 * this region is not the writer; a call that does not answer throws (the keeper counts down).
 */
export async function renewWriterLease(
  ddb: DynamoDBClient,
  ref: WriterLeaseRef,
  region: string,
  opts: { readonly now: number; readonly initial: boolean },
): Promise<Renewal> {
  try {
    const out = await ddb.send(new UpdateItemCommand(renewInput(ref, region, opts)));
    const lease = leaseOf(out.Attributes as never);
    if (!lease) throw new Error('lock table returned no writer lease');
    return { held: true, lease };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    const holder = await readWriterLease(ddb, ref);
    return { held: false, ...(holder ? { holder } : {}) };
  }
}

export type Takeover =
  | { readonly taken: true; readonly lease: WriterLease }
  | {
      readonly taken: false;
      readonly holder: WriterLease;
      /** When the takeover may succeed: the lease's end plus the clock-skew bound. */
      readonly notBefore: number;
    };

/** The earliest instant a taker may treat `lease` as over, by its own clock. */
export const takeableAt = (lease: Pick<WriterLease, 'expiresAt'>) =>
  lease.expiresAt + CLOCK_SKEW_BOUND_SECONDS * 1000;

/**
 * A promotion takes the lease for `target` before it makes `target` the writer. Unplanned
 * (failover): only once the old writer's lease has run out plus the skew bound — the old writer
 * has fenced itself by then, or is gone; until then the lease is revoked, so a writer that still
 * renews learns it must stop. Planned (switchover): at once; the old writer, alive,
 * sees at its next renewal that it lost the lease and fences itself, and Aurora's switchover
 * demotes it before promoting the target anyway. Idempotent for the target.
 */
export async function takeWriterLease(
  ddb: DynamoDBClient,
  ref: WriterLeaseRef,
  target: string,
  opts: { readonly now: number; readonly planned: boolean },
): Promise<Takeover> {
  try {
    const out = await ddb.send(
      new UpdateItemCommand({
        TableName: ref.table,
        Key: key(ref),
        UpdateExpression:
          'SET holder = :t, expiresAt = :exp, renewedAt = :now, revokedFor = :none ADD epoch :one',
        ConditionExpression: opts.planned
          ? undefined
          : 'holder = :t OR attribute_not_exists(holder) OR expiresAt < :over',
        ExpressionAttributeValues: {
          ':t': { S: target },
          ':exp': { N: String(opts.now + WRITER_LEASE.seconds * 1000) },
          ':now': { N: String(opts.now) },
          ':one': { N: '1' },
          ':none': { S: '' },
          ...(opts.planned
            ? {}
            : { ':over': { N: String(opts.now - CLOCK_SKEW_BOUND_SECONDS * 1000) } }),
        },
        ReturnValues: 'ALL_NEW',
      }),
    );
    const lease = leaseOf(out.Attributes as never);
    if (!lease) throw new Error('lock table returned no writer lease');
    return { taken: true, lease };
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    const holder = await readWriterLease(ddb, ref);
    if (!holder) throw err;
    if (holder.revokedFor !== target) await revoke(ddb, ref, holder, target, opts.now);
    return { taken: false, holder, notBefore: takeableAt(holder) };
  }
}

/**
 * Revokes the live lease `held` for `target`: the holder's next renewal is refused, so a holder
 * that still reaches the lock fences itself at once instead of renewing for ever (the quorum of
 * watchers decided; the lease only makes the handover safe). Only the lease as read: a lease that
 * changed since is left alone.
 */
async function revoke(
  ddb: DynamoDBClient,
  ref: WriterLeaseRef,
  held: WriterLease,
  target: string,
  now: number,
): Promise<void> {
  await updateIf(ddb, {
    TableName: ref.table,
    Key: key(ref),
    UpdateExpression: 'SET revokedFor = :t, revokedAt = :now',
    ConditionExpression: 'holder = :h AND expiresAt = :e',
    ExpressionAttributeValues: {
      ':t': { S: target },
      ':now': { N: String(now) },
      ':h': { S: held.holder },
      ':e': { N: String(held.expiresAt) },
    },
  });
}

/**
 * A rolled-back promotion to `target` gives the lease back to `to` (the region it was failing
 * away from, still Aurora's writer): whether the takeover had only revoked it or already taken
 * it. Returns whether anything was given back.
 */
export function returnWriterLease(
  ddb: DynamoDBClient,
  ref: WriterLeaseRef,
  target: string,
  to: string,
): Promise<boolean> {
  return updateIf(ddb, {
    TableName: ref.table,
    Key: key(ref),
    UpdateExpression: 'SET holder = :to, revokedFor = :none',
    ConditionExpression: 'holder = :t OR revokedFor = :t',
    ExpressionAttributeValues: {
      ':t': { S: target },
      ':to': { S: to },
      ':none': { S: '' },
    },
  });
}
