/**
 * npm run bench (sync part): the sync path on 100,000 records, each figure beside a naive
 * one-record-at-a-time baseline measured in the same run. Writes bench/sync-results.json.
 *
 *   sync.cpu        residency decision + masking + message encoding + conflict resolution
 *                   (records/s); baseline compiles the masking rules and re-parses per record
 *   sync.apply.1    applyBatch in batches of 1,000 on Postgres, one worker (rows/s): row
 *                   locks, resolution, guarded upsert, history; baseline: one guarded
 *                   INSERT … ON CONFLICT per row, autocommit (10,000 rows, rate extrapolated)
 *   sync.apply      the same with two workers on entity partitions (as FIFO message groups);
 *                   both runs write fresh entities, twice each, as the floor does
 *   sync.apply.replace  two workers on entities that all exist already: every event replaces
 *                   a stored version, which goes to history (the heaviest case; no goal)
 *   sync.floor      the same rows as one bare bulk upsert per 1,000 (no locks, resolution, guard
 *                   or history): the ceiling this machine's Postgres sets for sync.apply
 *   sync.e2e        100,000 outbox rows → dispatch (claim, check, mask, encode, settle) → apply
 *                   (parse, re-check, resolve, upsert) into a second schema, both stages running
 *                   side by side, apply in a worker thread (separate Lambdas in production), wall
 *                   seconds
 *   sync.peak       e2e throughput against the seeds' peak of 50,000 operations per minute
 *
 *   machine.hmac    calibration, no goal: HMAC-SHA256 per second on this machine
 *
 * Postgres: DATABASE_URL, else the local server at postgres://postgres@127.0.0.1:5432/test when it
 * answers, else PGlite in-process (slower; the figures say which).
 */
import { createHmac } from 'node:crypto';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { ResidencyIndex } from '../lambda/shared/residency-plan';
import { applyMessages, type InboundMessage } from '../lambda/shared/sync/apply';
import { type ReplicaRow, resolve } from '../lambda/shared/sync/conflict';
import type { Db } from '../lambda/shared/sync/db';
import { buildMessage, dispatchUntilDrained, TargetBreakers } from '../lambda/shared/sync/dispatch';
import type { ChangeEvent } from '../lambda/shared/sync/events';
import { applyRules, compileRules, Masker } from '../lambda/shared/sync/masking';
import { writeChanges } from '../lambda/shared/sync/outbox-store';
import { applyBatch } from '../lambda/shared/sync/replica-store';
import { type BenchDb, openDb } from './bench-db';
import { benchConfig, QUICK, sized, writeResults } from './options';
import type { Result } from './result';
import { type ApplyWorkerData, type ApplyWorkerMessage, benchApplyDeps } from './sync-apply-worker';

/** Records per figure: 100,000 (quick: 4,000; rates stay comparable, e2e is scaled per 100k). */
const N = sized(100_000, 4_000);
const config = benchConfig();
const index = new ResidencyIndex(config.plan);
const keys = {
  pseudonymKey: Buffer.from('bench-key'),
  dataKey: { plaintext: Buffer.alloc(32, 3), wrapped: 'YmVuY2g=' },
};
const strategyOf = (c: string) => index.rulesOf(c)?.conflict ?? 'lww';

/** A valid lower-case UUID per (salt, i): salt picks the first group. */
function uuidOf(i: number, salt: string): string {
  const s = salt.charCodeAt(0).toString(16).padStart(8, '0');
  return `${s}-0000-4000-8000-${i.toString(16).padStart(12, '0')}`;
}

/**
 * us-east-1 writes: half public (full to every cell), half pii (masked towards apac). Each entity
 * is written twice (its second version conflicts with the first); entities are named by `keys`, so
 * a run on fresh keys inserts then resolves, and a run on another run's keys replaces every row.
 */
function events(n: number, salt: string, keys = salt): ChangeEvent[] {
  const t = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    eventId: uuidOf(i, salt),
    entityType: i % 2 ? 'product' : 'customer',
    entityKey: `${keys}${i % (n / 2)}`,
    dataClass: i % 2 ? 'public' : 'pii',
    homeRegion: 'us-east-1',
    originRegion: i % 3 ? 'us-east-1' : 'us-west-2',
    hlc: { wall: t + (i % 1000), logical: i % 7 },
    op: 'upsert',
    payload:
      i % 2
        ? { title: `Lamp ${i}`, price: i % 97, tags: ['a', 'b'] }
        : {
            customerId: `C-${i}`,
            name: `Name ${i}`,
            email: `user${i}@example.com`,
            phone: `+1555${i}`,
            country: 'US',
            address: { city: 'Austin', street: `${i} Main` },
          },
  }));
}

const results: Result[] = [];
const round = (n: number) => Number(n.toFixed(n >= 100 ? 0 : 2));
const time = async (fn: () => unknown) => {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
};

/** Splits work by entity, as SQS FIFO message groups do between concurrent consumers. */
const partition = <T extends { entityKey: string }>(xs: readonly T[], n: number): T[][] => {
  const parts: T[][] = Array.from({ length: n }, () => []);
  for (const x of xs) {
    let h = 0;
    for (let i = 0; i < x.entityKey.length; i++) h = (h * 31 + x.entityKey.charCodeAt(i)) | 0;
    parts[Math.abs(h) % n]?.push(x);
  }
  return parts;
};

/** Applies events in batches of 1,000 on each session in parallel (one partition each). */
const applyOn = (sessions: readonly Db[], evs: readonly ChangeEvent[]) =>
  Promise.all(
    partition(evs, sessions.length).map(async (part, w) => {
      for (let i = 0; i < part.length; i += 1000)
        await applyBatch(sessions[w] as Db, part.slice(i, i + 1000), strategyOf);
    }),
  );

/**
 * The target side of the e2e run: its own thread on the server (its own Lambda in production), in
 * this thread on PGlite (one session, one thread).
 */
async function startApply(sink: BenchDb, region: string) {
  if (sink.connection) {
    // tsx's hooks are per thread: the worker registers them before loading the TypeScript.
    const entry = path.join(__dirname, 'sync-apply-worker.ts');
    const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(entry)});`, {
      eval: true,
      workerData: { ...sink.connection, region } satisfies ApplyWorkerData,
    });
    const replies: ((m: { ready?: true; applied?: number }) => void)[] = [];
    const failed = new Promise<never>((_, reject) => worker.once('error', reject));
    worker.on('message', (m) => replies.shift()?.(m));
    const reply = () =>
      Promise.race([failed, new Promise<{ applied?: number }>((r) => replies.push(r))]);
    await reply();
    return {
      where: 'in a worker thread',
      send: (batch: InboundMessage[]) => worker.postMessage({ batch } satisfies ApplyWorkerMessage),
      end: async () => {
        worker.postMessage({ end: true } satisfies ApplyWorkerMessage);
        const { applied = 0 } = await reply();
        await worker.terminate();
        return applied;
      },
    };
  }
  let chain = Promise.resolve(0);
  return {
    where: 'in this thread (PGlite)',
    send: (batch: InboundMessage[]) => {
      chain = chain.then(async (n) => {
        const report = await applyMessages(benchApplyDeps(sink.db, index, region), batch);
        return n + (report.stats?.fresh ?? 0);
      });
    },
    end: () => chain,
  };
}

async function main() {
  // ---- calibration: how fast this machine is, to read figures from different machines --------
  const calibration = await time(() => {
    for (let i = 0; i < N; i++) createHmac('sha256', keys.pseudonymKey).update(`v${i}`).digest();
  });
  results.push({
    name: 'machine.hmac',
    value: round(N / calibration),
    unit: 'ops/s',
    baseline: round(N / calibration),
    ratio: 1,
    note: 'calibration: HMAC-SHA256 of short strings (the unit of masking); with sync.floor for Postgres, it tells a slow machine from slow code',
  });

  // ---- CPU: decide + mask + encode + resolve ------------------------------------------------
  const cpuEvents = events(N, 'c');
  const masker = new Masker((c) => index.rulesOf(c)?.masking, keys);
  const target = 'ap-southeast-1';
  const ours = await time(() => {
    const state = new Map<string, ReplicaRow>();
    for (const e of cpuEvents) {
      const d = index.decide(e.dataClass, e.homeRegion, target);
      if (d.allowed) JSON.stringify(buildMessage(index, masker, e, target, 'us-east-1', d.mode));
      const k = `${e.entityType}:${e.entityKey}`;
      const r = resolve(strategyOf(e.dataClass), state.get(k), e);
      if (r.row) state.set(k, r.row);
    }
  });
  const naiveN = Math.min(20_000, N / 5);
  const naive = await time(() => {
    const state = new Map<string, ReplicaRow>();
    for (const e of cpuEvents.slice(0, naiveN)) {
      const copy = JSON.parse(JSON.stringify(e)) as ChangeEvent;
      const d = index.decide(copy.dataClass, copy.homeRegion, target);
      if (d.allowed && d.mode === 'masked') {
        const rules = index.rulesOf(copy.dataClass)?.masking ?? { fields: {}, jurisdictions: {} };
        JSON.stringify(applyRules(compileRules(rules, 'apac'), copy.payload, keys));
      } else JSON.stringify(copy);
      const k = `${copy.entityType}:${copy.entityKey}`;
      const r = resolve(strategyOf(copy.dataClass), state.get(k), copy);
      if (r.row) state.set(k, JSON.parse(JSON.stringify(r.row)));
    }
  });
  const cpuRate = N / ours;
  const naiveRate = naiveN / naive;
  results.push({
    name: 'sync.cpu',
    value: round(cpuRate),
    unit: 'records/s',
    baseline: round(naiveRate),
    ratio: round(cpuRate / naiveRate),
  });

  // ---- apply on Postgres ------------------------------------------------------------------
  const target1 = await openDb();
  const applyEvents = events(N, 'a');
  // One worker, then two in parallel (entity-partitioned, like FIFO message groups), each on
  // fresh entities like the floor's; then two workers on entities that all exist, so that every
  // event replaces a stored version, which is archived.
  const applySeconds = await time(() => applyOn([target1.db], applyEvents));
  const sessions = await target1.sessions(2);
  const parallelEvents = events(N, 'b');
  const parallelSeconds = await time(() => applyOn(sessions, parallelEvents));
  const replaceEvents = events(N, 'r', 'a');
  const replaceSeconds = await time(() => applyOn(sessions, replaceEvents));
  const naiveRows = Math.min(10_000, N / 10);
  const rowEvents = events(naiveRows, 'n');
  const naiveApply = await time(async () => {
    for (const e of rowEvents)
      await target1.db.query(
        `INSERT INTO meridian_replica AS t (entity_type, entity_key, data_class, home_region, hlc_wall, hlc_logical, origin_region, event_id, payload)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (entity_type, entity_key) DO UPDATE SET hlc_wall = excluded.hlc_wall, hlc_logical = excluded.hlc_logical,
           origin_region = excluded.origin_region, event_id = excluded.event_id, payload = excluded.payload
         WHERE (excluded.hlc_wall, excluded.hlc_logical, excluded.origin_region COLLATE "C", excluded.event_id)
             > (t.hlc_wall, t.hlc_logical, t.origin_region COLLATE "C", t.event_id)`,
        [
          `n-${e.entityType}`,
          e.entityKey,
          e.dataClass,
          e.homeRegion,
          e.hlc.wall,
          e.hlc.logical,
          e.originRegion,
          e.eventId,
          JSON.stringify(e.payload),
        ],
      );
  });
  // The floor: the same rows, same batches, one plain INSERT … ON CONFLICT DO UPDATE without
  // locks, resolution, guard or history: what this machine's Postgres does at best.
  const floorEvents = events(N, 'f');
  const floorSeconds = await time(async () => {
    for (let i = 0; i < N; i += 1000)
      await target1.db.query(
        `INSERT INTO meridian_replica (entity_type, entity_key, data_class, home_region, hlc_wall, hlc_logical, origin_region, event_id, payload)
         SELECT 'f-' || entity_type, entity_key, data_class, home_region, hlc_wall, hlc_logical, origin_region, event_id, payload
           FROM jsonb_to_recordset($1::jsonb) AS r(entity_type text, entity_key text, data_class text, home_region text,
                hlc_wall bigint, hlc_logical integer, origin_region text, event_id uuid, payload jsonb)
         ON CONFLICT (entity_type, entity_key) DO UPDATE SET payload = excluded.payload`,
        [
          JSON.stringify(
            floorEvents.slice(i, i + 1000).map((e) => ({
              entity_type: e.entityType,
              entity_key: e.entityKey,
              data_class: e.dataClass,
              home_region: e.homeRegion,
              hlc_wall: e.hlc.wall,
              hlc_logical: e.hlc.logical,
              origin_region: e.originRegion,
              event_id: e.eventId,
              payload: e.payload,
            })),
          ),
        ],
      );
  });
  const floorRate = N / floorSeconds;
  const naiveRowRate = naiveRows / naiveApply;
  /** An apply figure: rows/s over the same naive per-row baseline. */
  const applyFigure = (name: string, seconds: number, note: string) => {
    const rate = N / seconds;
    results.push({
      name,
      value: round(rate),
      unit: 'rows/s',
      baseline: round(naiveRowRate),
      ratio: round(rate / naiveRowRate),
      note,
    });
  };
  applyFigure('sync.apply.1', applySeconds, `one worker; ${target1.kind}`);
  const parallelRate = N / parallelSeconds;
  results.push({
    name: 'sync.floor',
    value: round(floorRate),
    unit: 'rows/s',
    baseline: round(floorRate),
    ratio: 1,
    note: `bare bulk upsert, no locks/resolution/guard/history: this machine's ceiling for sync.apply; apply reaches ${Math.round((parallelRate / floorRate) * 100)}% of it`,
  });
  applyFigure('sync.apply', parallelSeconds, `${sessions.length} workers; ${target1.kind}`);
  const replaceRate = N / replaceSeconds;
  applyFigure(
    'sync.apply.replace',
    replaceSeconds,
    `${sessions.length} workers; every entity exists, each stored version archived; ${Math.round((replaceRate / floorRate) * 100)}% of the floor`,
  );
  await target1.close();

  // ---- end to end: source dispatch and target apply run side by side, as in production -------
  const source = await openDb();
  const sink = await openDb();
  await writeChanges(source.db, events(N, 'e'));
  // Autovacuum analyzes the outbox after every 1,000 changes (migration 2); a burst seeded in
  // one statement gives it no time to, so the bench does what it would.
  await source.db.query('ANALYZE meridian_outbox');
  const apply = await startApply(sink, target);
  let dispatchSeconds = 0;
  let applied = 0;
  const e2eSeconds = await time(async () => {
    const t = performance.now();
    // What the dispatch handler runs: batches back to back, the next claimed during this one.
    await dispatchUntilDrained(
      {
        db: source.db,
        index,
        masker,
        transport: {
          send: async (_t, ms) => {
            apply.send(ms.map((m) => ({ messageId: m.id, body: m.body, receiveCount: 1 })));
            return { failed: new Map() };
          },
        },
        parking: { park: async () => undefined },
        breakers: new TargetBreakers(),
        targets: [target],
      },
      { region: 'us-east-1', worker: 'bench', batchSize: 1000, maxAttempts: 5 },
      { remainingMs: () => Number.POSITIVE_INFINITY },
    );
    dispatchSeconds = (performance.now() - t) / 1000;
    applied = await apply.end();
  });
  const e2e = e2eSeconds * (100_000 / N);
  results.push({
    name: 'sync.e2e',
    value: round(e2e),
    unit: 's/100k',
    baseline: 5,
    ratio: round(5 / e2e),
    note: `${applied} applied${QUICK ? ` (quick: ${N} records, scaled to 100k)` : ''}; dispatch alone ${round(dispatchSeconds)} s; apply ${apply.where}; goal < 5 s`,
  });
  const perMinute = (N / e2e) * 60;
  results.push({
    name: 'sync.peak',
    value: round(perMinute),
    unit: 'ops/min',
    baseline: 50_000,
    ratio: round(perMinute / 50_000),
    note: 'seeds peak 50,000/min; one dispatch + one apply worker',
  });
  await source.close();
  await sink.close();

  const goals: Record<string, (r: Result) => boolean> = {
    'sync.cpu': (r) => r.value >= 100_000,
    'sync.apply': (r) => r.value >= 50_000,
    'sync.e2e': (r) => r.value < 5,
    'sync.peak': (r) => r.ratio >= 2,
  };
  for (const r of results) {
    const goal = goals[r.name];
    const mark = goal ? (goal(r) ? '  (goal met)' : '  (GOAL MISSED)') : '';
    console.log(
      `${r.name.padEnd(18)} ${String(r.value).padStart(10)} ${r.unit.padEnd(10)} baseline ${String(r.baseline).padStart(9)}  ${r.ratio}x${mark}${r.note ? `  [${r.note}]` : ''}`,
    );
  }
  console.log(`wrote ${writeResults('sync-results.json', results)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
