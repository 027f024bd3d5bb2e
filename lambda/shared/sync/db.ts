/**
 * The little of a Postgres connection the sync code needs. node-postgres clients and PGlite both
 * fit (PGlite through `pgliteDb`), so the same SQL runs in Lambda against Aurora and in tests
 * against PGlite or the server named by DATABASE_URL.
 */
export interface Db {
  query<R = Record<string, unknown>>(text: string, params?: unknown[]): Promise<{ rows: R[] }>;
  /** Runs several statements (no parameters). */
  exec(sql: string): Promise<unknown>;
  /**
   * Calls `onNotify` for every notification on `channel` (Postgres sends one when the notifying
   * transaction commits); resolves to the function that stops listening.
   * @default - no notifications: the relay falls back to polling
   */
  listen?(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}

/** `LISTEN` on a node-postgres client (it emits `notification` events). */
export function pgListen(client: {
  query(text: string): Promise<unknown>;
  on(event: 'notification', fn: (n: { channel: string }) => void): unknown;
  removeListener(event: 'notification', fn: (n: { channel: string }) => void): unknown;
}): NonNullable<Db['listen']> {
  return async (channel, onNotify) => {
    const fn = (n: { channel: string }) => {
      if (n.channel === channel) onNotify();
    };
    client.on('notification', fn);
    await client.query(`LISTEN ${channel}`);
    return async () => {
      client.removeListener('notification', fn);
      await client.query(`UNLISTEN ${channel}`);
    };
  };
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

/**
 * Whether this connection's database takes writes now: not an Aurora secondary (in recovery) and
 * not fenced read-only (the writer keeper's fence sets `default_transaction_read_only` and ends
 * every other session, ../failover/db-fence.ts). Sync acts as its cell's writer only while this
 * holds.
 */
export async function takesWrites(db: Db): Promise<boolean> {
  const r = await db.query<{ ro: boolean }>(
    "SELECT pg_is_in_recovery() OR current_setting('transaction_read_only') = 'on' AS ro",
  );
  return r.rows[0]?.ro === false;
}

/** A PGlite database (in-process Postgres: tests and benchmarks) as a Db. */
export function pgliteDb(pg: {
  query(text: string, params?: unknown[]): Promise<unknown>;
  exec(sql: string): Promise<unknown>;
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
}): Db {
  return {
    query: (text, params) => pg.query(text, params) as never,
    exec: (sql) => pg.exec(sql),
    listen: (channel, onNotify) => pg.listen(channel, onNotify),
  };
}
