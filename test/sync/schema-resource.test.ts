/**
 * The sync schema at deploy (issue 17 item 5), on real Postgres: the custom resource's handler
 * migrates the writer's database, changes nothing when run again, and leaves a replica alone.
 */
import { MIGRATIONS, SCHEMA_VERSION } from '../../lambda/shared/sync/migrations';
import { onSchemaEvent, SCHEMA_RESOURCE_ID } from '../../lambda/shared/sync/schema-resource';
import { openTestDb, type TestDb } from '../support/db';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
  // A database as a new cell finds it: no sync table yet.
  await t.db.exec(`DROP TABLE meridian_outbox, meridian_outbox_sent, meridian_replica,
    meridian_replica_history, meridian_review, meridian_sync_target, meridian_erasure, meridian_schema_version CASCADE;
    DROP FUNCTION IF EXISTS meridian_outbox_notify()`);
});
afterAll(() => t.close());

const event = (RequestType: 'Create' | 'Update' | 'Delete', Version = String(SCHEMA_VERSION)) => ({
  RequestType,
  PhysicalResourceId: RequestType === 'Create' ? undefined : SCHEMA_RESOURCE_ID,
  ResourceProperties: { Version },
});

test('Create on the writer: every migration, in order; Update again: nothing to do', async () => {
  expect(await onSchemaEvent(event('Create'), async () => t.db)).toEqual({
    PhysicalResourceId: SCHEMA_RESOURCE_ID,
    Data: {
      Role: 'writer',
      Version: String(SCHEMA_VERSION),
      Applied: MIGRATIONS.map((m) => m.version).join(','),
    },
  });
  const tables = await t.db.query<{ n: string }>(
    `SELECT count(*) AS n FROM information_schema.tables
      WHERE table_name LIKE 'meridian_%' AND table_schema = current_schema()`,
  );
  expect(Number(tables.rows[0]?.n)).toBe(8);
  expect((await onSchemaEvent(event('Update'), async () => t.db)).Data).toEqual({
    Role: 'writer',
    Version: String(SCHEMA_VERSION),
    Applied: '',
  });
});

test('a replica (read-only) is left to Aurora: it reports the version it holds', async () => {
  await t.db.query('SET default_transaction_read_only = on');
  try {
    expect((await onSchemaEvent(event('Update'), async () => t.db)).Data).toEqual({
      Role: 'replica',
      Version: String(SCHEMA_VERSION),
      Applied: '',
    });
  } finally {
    await t.db.query('SET default_transaction_read_only = off');
  }
});

test('Delete drops nothing; a template newer than the code fails the deploy', async () => {
  let connected = false;
  const connect = async () => {
    connected = true;
    return t.db;
  };
  expect(await onSchemaEvent(event('Delete'), connect)).toEqual({
    PhysicalResourceId: SCHEMA_RESOURCE_ID,
    Data: {},
  });
  expect(connected).toBe(false);
  await expect(onSchemaEvent(event('Update', String(SCHEMA_VERSION + 1)), connect)).rejects.toThrow(
    `the template asks for sync schema version ${SCHEMA_VERSION + 1}, this code knows up to ${SCHEMA_VERSION}`,
  );
});
