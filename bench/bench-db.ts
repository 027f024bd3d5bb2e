/**
 * The Postgres the sync bench parts run on: DATABASE_URL, else the local server at
 * postgres://postgres@127.0.0.1:5432/test when it answers, else PGlite in-process (slower; the
 * figures say which). Each database is a fresh schema with the sync migrations applied.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { type Db, pgListen, pgliteDb } from '../lambda/shared/sync/db';
import { migrate } from '../lambda/shared/sync/migrations';
import type { ApplyWorkerData } from './sync-apply-worker';

export interface BenchDb {
  readonly db: Db;
  readonly kind: string;
  /** Where another thread can reach the same data (server only). */
  readonly connection?: ApplyWorkerData;
  /** `n` connections to the same data (one on PGlite, which has a single session). */
  sessions(n: number): Promise<Db[]>;
  close(): Promise<void>;
}

export async function openDb(): Promise<BenchDb> {
  const url = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  try {
    const schema = `bench_${randomBytes(4).toString('hex')}`;
    const clients: Client[] = [];
    const connect = async () => {
      const c = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      await c.connect();
      await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}; SET search_path TO ${schema}`);
      clients.push(c);
      const db: Db = {
        query: (q, p) => c.query(q, p as unknown[]) as never,
        exec: (sql) => c.query(sql),
        listen: pgListen(c),
      };
      return db;
    };
    const db = await connect();
    await migrate(db);
    return {
      db,
      kind: `server ${new URL(url).host}`,
      connection: { url, schema, region: '' },
      sessions: async (n) => [db, ...(await Promise.all(Array.from({ length: n - 1 }, connect)))],
      close: async () => {
        await db.query(`DROP SCHEMA ${schema} CASCADE`);
        for (const c of clients) await c.end();
      },
    };
  } catch {
    const { PGlite } = await import('@electric-sql/pglite');
    const pg = await PGlite.create();
    const db = pgliteDb(pg);
    await migrate(db);
    return { db, kind: 'PGlite', sessions: async () => [db], close: () => pg.close() };
  }
}
