/**
 * A region's state in its cell's lock table (`region#<id>`): `active` unless the failover runbook
 * fenced it. Applications and the sync functions read it and stand down while fenced, so a region
 * that lost its role cannot keep writing or shipping data. Every read and write of region state is
 * here; the runbook writes only after presenting its fencing token (steps.ts `guard`), and records
 * the token with the state.
 */
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';

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

/** Sets a region's state, recording the fencing token of the execution that set it. */
export async function setRegionState(
  ddb: DynamoDBClient,
  table: string,
  region: string,
  state: RegionState,
  token: number,
  at: number,
): Promise<void> {
  await ddb.send(
    new UpdateItemCommand({
      TableName: table,
      Key: key(region),
      UpdateExpression: 'SET #state = :state, #token = :token, #at = :at',
      ExpressionAttributeNames: { '#state': 'state', '#token': 'token', '#at': 'at' },
      ExpressionAttributeValues: {
        ':state': { S: state },
        ':token': { N: String(token) },
        ':at': { N: String(at) },
      },
    }),
  );
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
