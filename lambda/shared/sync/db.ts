/**
 * The little of a Postgres connection the sync code needs. node-postgres clients and PGlite both
 * fit (PGlite through `pgliteDb`), so the same SQL runs in Lambda against Aurora and in tests
 * against PGlite or the server named by DATABASE_URL.
 */
export interface Db {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs several statements (no parameters). */
  exec(sql: string): Promise<unknown>;
}

/** Runs `fn` in a transaction on one connection; rolls back on any error. */
export async function transaction<T>(db: Db, fn: () => Promise<T>): Promise<T> {
  await db.query('BEGIN');
  try {
    const result = await fn();
    await db.query('COMMIT');
    return result;
  } catch (err) {
    await db.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
