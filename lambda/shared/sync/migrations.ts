/**
 * The sync tables, as ordered migrations. Applications write their change and an outbox row in one
 * transaction; the dispatch function reads the outbox; the apply function writes replicas,
 * history (losing versions, once each) and review siblings. Runs on PostgreSQL 15+
 * (Aurora) and PGlite (PostgreSQL 18). Text compared by the conflict guard uses COLLATE "C",
 * the order JavaScript uses.
 */
import type { Db } from './db';

export const MIGRATIONS: readonly { readonly version: number; readonly sql: string }[] = [
  {
    version: 1,
    sql: `
CREATE TABLE IF NOT EXISTS meridian_outbox (
  event_id        uuid PRIMARY KEY,
  entity_type     text NOT NULL,
  entity_key      text NOT NULL,
  data_class      text NOT NULL,
  home_region     text NOT NULL,
  origin_region   text NOT NULL,
  hlc_wall        bigint NOT NULL,
  hlc_logical     integer NOT NULL,
  op              text NOT NULL CHECK (op IN ('upsert', 'delete')),
  payload         jsonb NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'parked')),
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  claimed_by      text,
  claimed_until   timestamptz,
  pending_targets text[],
  last_error      text
) WITH (fillfactor = 70);
CREATE INDEX IF NOT EXISTS meridian_outbox_ready
  ON meridian_outbox (next_attempt_at, hlc_wall) WHERE status = 'pending';

CREATE TABLE IF NOT EXISTS meridian_replica (
  entity_type   text COLLATE "C" NOT NULL,
  entity_key    text COLLATE "C" NOT NULL,
  data_class    text NOT NULL,
  home_region   text COLLATE "C" NOT NULL,
  hlc_wall      bigint NOT NULL,
  hlc_logical   integer NOT NULL,
  origin_region text COLLATE "C" NOT NULL,
  event_id      uuid NOT NULL,
  deleted       boolean NOT NULL DEFAULT false,
  payload       jsonb NOT NULL,
  clocks        jsonb,
  updated_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_type, entity_key)
);

CREATE TABLE IF NOT EXISTS meridian_replica_history (
  id            bigserial PRIMARY KEY,
  entity_type   text NOT NULL,
  entity_key    text NOT NULL,
  event_id      uuid NOT NULL,
  origin_region text NOT NULL,
  hlc_wall      bigint NOT NULL,
  hlc_logical   integer NOT NULL,
  deleted       boolean NOT NULL,
  payload       jsonb NOT NULL,
  recorded_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS meridian_review (
  entity_type   text NOT NULL,
  entity_key    text NOT NULL,
  event_id      uuid NOT NULL,
  origin_region text NOT NULL,
  hlc_wall      bigint NOT NULL,
  hlc_logical   integer NOT NULL,
  deleted       boolean NOT NULL,
  payload       jsonb NOT NULL,
  status        text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
  created_at    timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (entity_type, entity_key, event_id)
);

CREATE TABLE IF NOT EXISTS meridian_applied_event (
  event_id   uuid PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);`,
  },
  {
    // Idempotence by state instead of by ledger: a redelivered event either equals the stored
    // version, loses to it under the total order (field-merge: per field), or is already in
    // history or review, whose (entity, event id) keys now refuse a second copy. The ledger was one
    // more index insert per event and grew without bound. Replica pages keep room for HOT updates.
    // The outbox is a queue: rows come and go by the thousand, so it is vacuumed and analyzed
    // after every 1,000 changes instead of after 10-20% of the table. Stale statistics after a
    // burst made the planner sort every pending row for each claim instead of reading the ready
    // index in order (measured: 90-150 ms per claim of 1,000 instead of 13-26 ms).
    version: 2,
    sql: `
DELETE FROM meridian_replica_history a
 USING meridian_replica_history b
 WHERE a.id > b.id AND a.entity_type = b.entity_type AND a.entity_key = b.entity_key
   AND a.event_id = b.event_id;
CREATE UNIQUE INDEX IF NOT EXISTS meridian_replica_history_event
  ON meridian_replica_history (entity_type, entity_key, event_id);
DROP TABLE IF EXISTS meridian_applied_event;
ALTER TABLE meridian_replica SET (fillfactor = 70);
ALTER TABLE meridian_outbox SET (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
  autovacuum_analyze_scale_factor = 0, autovacuum_analyze_threshold = 1000);`,
  },
  {
    // Sync follows each target cell's writer (issue 17). A delivered row moves to a short log
    // instead of vanishing, so when a cell's writer changes, what the old writer may have applied
    // but not yet replicated to the new one is sent again (apply is idempotent by state); the log
    // is purged past the replay window; its columns are the outbox's event columns. The writer each target cell had when last seen is kept
    // here, so a change is noticed by the first run after it, cold start or not.
    version: 3,
    sql: `
CREATE TABLE meridian_outbox_sent AS
  SELECT event_id, entity_type, entity_key, data_class, home_region, origin_region, hlc_wall,
         hlc_logical, op, payload, now() AS sent_at
    FROM meridian_outbox WITH NO DATA;
ALTER TABLE meridian_outbox_sent ADD PRIMARY KEY (event_id),
  ALTER COLUMN sent_at SET DEFAULT now(), ALTER COLUMN sent_at SET NOT NULL;
CREATE INDEX IF NOT EXISTS meridian_outbox_sent_at ON meridian_outbox_sent (sent_at);
ALTER TABLE meridian_outbox_sent SET (
  autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000);
CREATE TABLE IF NOT EXISTS meridian_sync_target (
  target   text PRIMARY KEY,
  writer   text NOT NULL,
  epoch    bigint NOT NULL,
  seen_at  timestamptz NOT NULL DEFAULT now()
);`,
  },
  {
    // Near real time (issue 17 item 2): every statement that adds outbox rows notifies the relay,
    // and Postgres delivers a notification only when its transaction commits, so the relay never
    // wakes for a row it cannot see yet. Once per statement, with no payload: a bulk insert is one
    // notification, and nothing of a record travels on the channel. The relay claims only the
    // realtime classes, by class, so a backlog of a batch class never stands in front of them.
    version: 4,
    sql: `
CREATE OR REPLACE FUNCTION meridian_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('meridian_outbox', '');
  RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS meridian_outbox_notify ON meridian_outbox;
CREATE TRIGGER meridian_outbox_notify AFTER INSERT ON meridian_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION meridian_outbox_notify();
CREATE INDEX IF NOT EXISTS meridian_outbox_class_ready
  ON meridian_outbox (data_class, next_attempt_at, hlc_wall) WHERE status = 'pending';`,
  },
  {
    // Transfers that rest on consent (issue 18): the application records, with each change,
    // whether the data subject consented (from its consent records); dispatch sends a record
    // across such a border only when it did, and apply refuses one that did not. The sent log
    // keeps the flag so a replay after a failover decides the same way.
    version: 5,
    sql: `
ALTER TABLE meridian_outbox ADD COLUMN IF NOT EXISTS consent boolean NOT NULL DEFAULT false;
ALTER TABLE meridian_outbox_sent ADD COLUMN IF NOT EXISTS consent boolean NOT NULL DEFAULT false;`,
  },
  {
    // Erasure (issue 18, data-subject requests): what an erasure removed stays removed. Each
    // region keeps a tombstone per erased entity — the SHA-256 of \`type:key\`, never the key — with
    // the erasure's clock; apply and local writes drop any version of that entity written at or
    // before it, so a message sent before the erasure and delivered after it, a replay from the
    // sent log or a redriven dead letter brings nothing back. A version written after it (the
    // subject signs up again) applies as usual.
    version: 6,
    sql: `
CREATE TABLE IF NOT EXISTS meridian_erasure (
  entity         text PRIMARY KEY,
  erased_wall    bigint NOT NULL,
  erased_logical integer NOT NULL,
  request_id     uuid NOT NULL,
  erased_at      timestamptz NOT NULL DEFAULT now()
);`,
  },
];

/** The schema version the code expects: the last migration's. */
export const SCHEMA_VERSION = Math.max(...MIGRATIONS.map((m) => m.version));

/** The channel the outbox notifies on commit (migration 4). */
export const OUTBOX_CHANNEL = 'meridian_outbox';

/** Applies pending migrations, each in its own transaction, serialised by an advisory lock. */
export async function migrate(db: Db): Promise<number[]> {
  await db.query(
    'CREATE TABLE IF NOT EXISTS meridian_schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
  );
  const applied: number[] = [];
  for (const m of MIGRATIONS) {
    await db.query('BEGIN');
    try {
      await db.query('SELECT pg_advisory_xact_lock(4242001)');
      const done = await db.query('SELECT 1 FROM meridian_schema_version WHERE version = $1', [
        m.version,
      ]);
      if (done.rows.length === 0) {
        await db.exec(m.sql);
        await db.query('INSERT INTO meridian_schema_version (version) VALUES ($1)', [m.version]);
        applied.push(m.version);
      }
      await db.query('COMMIT');
    } catch (err) {
      await db.query('ROLLBACK');
      throw err;
    }
  }
  return applied;
}
