/**
 * The writer's self-fence on a real Postgres: the server at DATABASE_URL (as CI runs it), in a
 * database of its own (the fence is database-wide: the shared test database must not be fenced
 * under the other suites); PGlite in-process otherwise, which has one session, so there only the
 * catalog side is shown.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { fenceDatabase, fenceState, unfenceDatabase } from '../../lambda/shared/failover/db-fence';
import type { Db } from '../../lambda/shared/sync/db';
import { DATABASE_URL } from '../support/db';

const asDb = (c: Client): Db => ({
  query: (text, params) => c.query(text, params as unknown[]) as never,
  exec: (sql) => c.query(sql),
});

function onServer(): void {
  describe('db fence on the Postgres server', () => {
    const name = `meridian_fence_${randomBytes(5).toString('hex')}`;
    const admin = new Client({ connectionString: DATABASE_URL });
    const url = () => {
      const u = new URL(DATABASE_URL as string);
      u.pathname = `/${name}`;
      return u.toString();
    };
    const open: Client[] = [];
    const session = async () => {
      const c = new Client({ connectionString: url() });
      c.on('error', () => undefined); // a terminated session emits one; the test reads the query's
      await c.connect();
      open.push(c);
      return c;
    };
    beforeAll(async () => {
      await admin.connect();
      await admin.query(`CREATE DATABASE ${name}`);
      const setup = await session();
      await setup.query('CREATE TABLE accounts (id int PRIMARY KEY, balance int NOT NULL)');
    });
    afterAll(async () => {
      for (const c of open) await c.end().catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    });

    test('fenced: open sessions end, new ones cannot write, reads go on; unfenced: writes again', async () => {
      const app = await session();
      await app.query('INSERT INTO accounts VALUES (1, 10)');
      const keeper = asDb(await session());
      expect(await fenceState(keeper)).toEqual({ replica: false, fenced: false });

      const { terminated } = await fenceDatabase(keeper);
      expect(terminated).toBeGreaterThanOrEqual(2); // the app's session and the setup session
      await expect(app.query('SELECT 1')).rejects.toThrow();
      expect(await fenceState(keeper)).toEqual({ replica: false, fenced: true });

      const next = await session();
      await expect(next.query('INSERT INTO accounts VALUES (2, 20)')).rejects.toMatchObject({
        code: '25006', // read_only_sql_transaction
      });
      const count = 'SELECT count(*)::int AS n FROM accounts';
      expect((await next.query(count)).rows).toEqual([{ n: 1 }]);

      await unfenceDatabase(keeper);
      expect(await fenceState(keeper)).toEqual({ replica: false, fenced: false });
      const after = await session();
      await after.query('INSERT INTO accounts VALUES (2, 20)');
      expect((await after.query(count)).rows).toEqual([{ n: 2 }]);
    });
  });
}

function onPglite(): void {
  describe('db fence on PGlite (one session: the catalog side)', () => {
    test('fence and unfence set and reset the setting new sessions start with', async () => {
      const { PGlite } = await import('@electric-sql/pglite');
      const pg = await PGlite.create();
      const db: Db = { query: (t, p) => pg.query(t, p) as never, exec: (s) => pg.exec(s) };
      try {
        expect(await fenceState(db)).toEqual({ replica: false, fenced: false });
        expect(await fenceDatabase(db)).toEqual({ terminated: 0 });
        expect(await fenceState(db)).toEqual({ replica: false, fenced: true });
        await unfenceDatabase(db);
        expect(await fenceState(db)).toEqual({ replica: false, fenced: false });
      } finally {
        await pg.close();
      }
    });
  });
}

// The server when DATABASE_URL is set (CI), PGlite otherwise.
if (DATABASE_URL) onServer();
else onPglite();
