/**
 * The target side of `sync.e2e` in its own thread, as it is its own Lambda in production: receives
 * batches of inbound messages from bench/sync.ts, applies each in turn on its own connection, and
 * answers with the count applied when told the dispatch is over.
 */
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { Client } from 'pg';
import { ResidencyIndex } from '../lambda/shared/residency-plan';
import { type ApplyDeps, applyMessages, type InboundMessage } from '../lambda/shared/sync/apply';
import type { Db } from '../lambda/shared/sync/db';
import { benchConfig } from './options';

export interface ApplyWorkerData {
  readonly url: string;
  readonly schema: string;
  readonly region: string;
}

export type ApplyWorkerMessage = { batch: InboundMessage[] } | { end: true };

/** The bench's apply stage, wherever it runs: no parking, no cache, 5 attempts. */
export const benchApplyDeps = (db: Db, index: ResidencyIndex, region: string): ApplyDeps => ({
  db,
  index,
  region,
  parking: { park: async () => undefined },
  invalidator: { invalidate: async () => undefined },
  maxAttempts: 5,
});

async function main(p: NonNullable<typeof parentPort>) {
  const { url, schema, region } = workerData as ApplyWorkerData;
  const index = new ResidencyIndex(benchConfig().plan);
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`SET search_path TO ${schema}`);
  const db: Db = {
    query: (q, params) => client.query(q, params as unknown[]) as never,
    exec: (sql) => client.query(sql),
  };
  const inbox: ApplyWorkerMessage[] = [];
  let wake: () => void = () => undefined;
  p.on('message', (m: ApplyWorkerMessage) => {
    inbox.push(m);
    wake();
  });
  p.postMessage({ ready: true });
  let applied = 0;
  for (;;) {
    const m = inbox.shift();
    if (!m) {
      await new Promise<void>((r) => {
        wake = r;
      });
      continue;
    }
    if ('end' in m) break;
    const report = await applyMessages(benchApplyDeps(db, index, region), m.batch);
    if (report.failedMessageIds.length > 0 || report.parked.length > 0)
      throw new Error(`apply failed in the bench: ${report.error ?? 'parked'}`);
    applied += report.stats?.fresh ?? 0;
  }
  await client.end();
  p.postMessage({ applied });
}

// Imported by bench/sync.ts for benchApplyDeps; runs only as the worker.
if (!isMainThread && parentPort)
  main(parentPort).catch((err) => {
    throw err;
  });
