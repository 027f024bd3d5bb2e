/**
 * A real Postgres for tests: the server at DATABASE_URL when set (CI), otherwise PGlite
 * in-process. Each call gets its own empty schema (server) or its own database (PGlite), with the
 * sync migrations applied.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type Db, pgListen, pgliteDb } from '../../lambda/shared/sync/db';
import { migrate } from '../../lambda/shared/sync/migrations';

export const DATABASE_URL = process.env.DATABASE_URL;

export interface TestDb {
  readonly db: Db;
  /** `server` (DATABASE_URL) or `pglite`. */
  readonly kind: 'server' | 'pglite';
  /** Another connection to the same data: a true second session on the server; PGlite has one. */
  connect(): Promise<Db>;
  close(): Promise<void>;
}

export async function openTestDb(): Promise<TestDb> {
  if (DATABASE_URL) {
    const schema = `t_${randomBytes(6).toString('hex')}`;
    const clients: Client[] = [];
    const connect = async (): Promise<Db> => {
      const c = new Client({ connectionString: DATABASE_URL });
      await c.connect();
      await c.query(`SET search_path TO ${schema}`);
      // A test database need not survive a crash: a commit that waits for its WAL flush makes the
      // Postgres property test ~3x slower (and a Stryker run of replica-store.ts about an hour).
      await c.query('SET synchronous_commit TO off');
      clients.push(c);
      return {
        query: (text, params) => c.query(text, params as unknown[]) as never,
        exec: (sql) => c.query(sql),
        listen: pgListen(c),
      };
    };
    const admin = new Client({ connectionString: DATABASE_URL });
    await admin.connect();
    await admin.query(`CREATE SCHEMA ${schema}`);
    const db = await connect();
    await migrate(db);
    return {
      db,
      kind: 'server',
      connect,
      close: async () => {
        for (const c of clients) await c.end();
        await admin.query(`DROP SCHEMA ${schema} CASCADE`);
        await admin.end();
      },
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create();
  const db = pgliteDb(pg);
  await migrate(db);
  return { db, kind: 'pglite', connect: async () => db, close: () => pg.close() };
}
