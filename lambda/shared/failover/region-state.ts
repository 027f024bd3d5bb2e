/**
 * A region's state in its cell's lock table (`region#<id>`): `active` unless the failover runbook
 * fenced it. Applications and the sync functions read it and stand down while fenced, so a region
 * that lost its role cannot keep writing or shipping data. Every read and write of region state is
 * here; the runbook writes only after presenting its fencing token (steps.ts `guard`), and records
 * the token with the state.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';

export type RegionState = 'active' | 'fenced' | 'failed';

const key = (region: string) => ({ pk: { S: `region#${region}` } });

export async function regionState(
  ddb: DynamoDBClient,
  table: string,
  region: string,
): Promise<RegionState> {
  const out = await ddb.send(
    new GetItemCommand({ TableName: table, Key: key(region), ConsistentRead: true }),
  );
  const state = out.Item?.state?.S;
  return state === 'fenced' || state === 'failed' ? state : 'active';
}

/** Raised by `setRegionState` when a newer execution already set the region's state. */
export class StaleRegionStateError extends Error {
  override readonly name = 'FencedError';
}

/**
 * Sets a region's state, recording the fencing token of the execution that set it. Conditional on
 * the token: a write carrying an older token than the one recorded (an execution that lost the
 * lock to a newer one) is refused, so region state only ever moves forward in token order.
 */
export async function setRegionState(
  ddb: DynamoDBClient,
  table: string,
  region: string,
  state: RegionState,
  token: number,
  at: number,
): Promise<void> {
  try {
    await ddb.send(
      new UpdateItemCommand({
        TableName: table,
        Key: key(region),
        UpdateExpression: 'SET #state = :state, #token = :token, #at = :at',
        ConditionExpression: 'attribute_not_exists(#token) OR #token <= :token',
        ExpressionAttributeNames: { '#state': 'state', '#token': 'token', '#at': 'at' },
        ExpressionAttributeValues: {
          ':state': { S: state },
          ':token': { N: String(token) },
          ':at': { N: String(at) },
        },
      }),
    );
  } catch (err) {
    if (!(err instanceof ConditionalCheckFailedException)) throw err;
    throw new StaleRegionStateError(
      `region state of ${region}: refused, fencing token ${token} is older than the one that last set it`,
    );
  }
}

/**
 * The check sync functions pass as `fenced`: true while the runbook has this region fenced.
 * Undefined without a table (the region is never fenced).
 */
export function fencedCheck(
  ddb: DynamoDBClient,
  table: string | undefined,
  region: string,
): (() => Promise<boolean>) | undefined {
  return table ? async () => (await regionState(ddb, table, region)) !== 'active' : undefined;
}
