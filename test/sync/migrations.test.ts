import { MIGRATIONS, migrate } from '../../lambda/shared/sync/migrations';
import { openTestDb, type TestDb } from '../support/db';

let t: TestDb;
beforeAll(async () => {
  t = await openTestDb();
});
afterAll(() => t.close());

test('migrations create the sync tables once; running them again changes nothing', async () => {
  expect(await migrate(t.db)).toEqual([]);
  const tables = await t.db.query<{ table_name: string }>(
    `SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'meridian_%' AND table_schema = current_schema() ORDER BY 1`,
  );
  expect(tables.rows.map((r) => r.table_name)).toEqual([
    'meridian_erasure',
    'meridian_outbox',
    'meridian_outbox_sent',
    'meridian_replica',
    'meridian_replica_history',
    'meridian_review',
    'meridian_schema_version',
    'meridian_sync_target',
  ]);
  const versions = await t.db.query<{ version: number }>(
    'SELECT version FROM meridian_schema_version ORDER BY 1',
  );
  expect(versions.rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
});
