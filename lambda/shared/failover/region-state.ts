/**
 * A region's state in its cell's lock table (`region#<id>`): `active` unless the failover runbook
 * fenced it. Applications and the sync functions read it and stand down while fenced, so a region
 * that lost its role cannot keep writing or shipping data.
 */
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';

export type RegionState = 'active' | 'fenced' | 'failed';

export async function regionState(
  ddb: DynamoDBClient,
  table: string,
  region: string,
): Promise<RegionState> {
  const out = await ddb.send(
    new GetItemCommand({
      TableName: table,
      Key: { pk: { S: `region#${region}` } },
      ConsistentRead: true,
    }),
  );
  const state = out.Item?.state?.S;
  return state === 'fenced' || state === 'failed' ? state : 'active';
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
