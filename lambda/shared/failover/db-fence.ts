/**
 * The writer's database fenced from inside its own region (issue 25 item 3): read-only for every
 * new session, and every open session ended, so no client that was writing keeps a connection
 * that can. Plain SQL, the same on Aurora PostgreSQL and on the Postgres the tests run.
 *
 * - Fence: `ALTER DATABASE … SET default_transaction_read_only = on` (a new session starts
 *   read-only: INSERT, UPDATE, DELETE and DDL fail with SQLSTATE 25006), then
 *   `pg_terminate_backend` on every other client session of the database. Aurora's master user
 *   (rds_superuser) may do both for the application's roles; `rdsadmin`'s sessions are left alone.
 * - Unfence: `ALTER DATABASE … RESET default_transaction_read_only`. The setting lives in the
 *   catalog, which Aurora Global Database replicates: a cluster promoted after its old writer
 *   fenced starts read-only, so the new writer's keeper unfences it once it holds the lease.
 * - A session may still ask for `BEGIN READ WRITE`: the fence stops clients that do not try to get
 *   round it (every driver's default), not a hostile one; the lease is what keeps two promoted
 *   writers apart, this keeps a cut-off writer's clients from writing on.
 *
 * Errors name the database and the statement, never a row.
 */
import type { Db } from '../sync/db';

export interface DbFenceState {
  /** A replica (an Aurora secondary, or a standby): read-only whatever the setting says. */
  readonly replica: boolean;
  /** The database's own setting makes new sessions read-only. */
  readonly fenced: boolean;
}

const ident = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** Where the connected database stands. */
export async function fenceState(db: Db): Promise<DbFenceState> {
  const { rows } = await db.query<{ replica: boolean; fenced: boolean }>(
    `SELECT pg_is_in_recovery() AS replica,
            EXISTS (SELECT 1 FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase
                     WHERE d.datname = current_database() AND s.setrole = 0
                       AND 'default_transaction_read_only=on' = ANY (s.setconfig)) AS fenced`,
  );
  const row = rows[0];
  return { replica: row?.replica === true, fenced: row?.fenced === true };
}

/** Makes the connected database read-only for new sessions and ends the others; returns how many. */
export async function fenceDatabase(db: Db): Promise<{ readonly terminated: number }> {
  const name = await currentDatabase(db);
  await db.query(`ALTER DATABASE ${ident(name)} SET default_transaction_read_only = on`);
  const { rows } = await db.query<{ n: number | string }>(
    `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS n
       FROM pg_stat_activity
      WHERE datname = current_database() AND pid <> pg_backend_pid()
        AND backend_type = 'client backend' AND usename IS DISTINCT FROM 'rdsadmin'`,
  );
  return { terminated: Number(rows[0]?.n ?? 0) };
}

/** Lets new sessions of the connected database write again. */
export async function unfenceDatabase(db: Db): Promise<void> {
  const name = await currentDatabase(db);
  await db.query(`ALTER DATABASE ${ident(name)} RESET default_transaction_read_only`);
}

async function currentDatabase(db: Db): Promise<string> {
  const { rows } = await db.query<{ name: string }>('SELECT current_database() AS name');
  const name = rows[0]?.name;
  if (!name) throw new Error('fence: the connection names no database');
  return name;
}
