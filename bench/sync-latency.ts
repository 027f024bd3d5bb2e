/**
 * npm run bench (sync latency part): commit → applied latency of the realtime path, with two
 * Postgres databases as two regions, at the seeds' 10,000 and 50,000 operations a minute.
 *
 *   sync.latency.<rate>.<pair>.p50/p95/p99  ms from a record's commit in eu-central-1 to its
 *       apply in ap-southeast-1: the outbox trigger's notification, the relay (claim, residency
 *       check, masking, encoding, send), the transport, and the apply consumers (parse, checks,
 *       conflict resolution, upsert). Baseline: the same records under the 5-minute schedule alone
 *       (each waits for the next run, spread evenly over the 300 s, plus the same delivery).
 *   sync.latency.<rate>.<pair>.rate  records applied per minute during the run.
 *
 * Pairs: `local` (no network delay: the pipeline's own cost) and `far`, the farthest shipped pair
 * in the cited table, eu-central-1 ↔ ap-southeast-1 at 325.9 ms average round trip, modelled as
 * 163 ms one way ("Latency Between AWS Global Regions", reproduced in
 * https://acomputerscientistlearnsaws.blogspot.com/2017/04/aws-regions.html; the table has no
 * row for ap-south-1/2 or me-central-1, whose pairs are shorter than this one on the great
 * circle). The transport fake is the real SqsTransport over an SQS client whose SendMessageBatch
 * takes one round trip and makes its messages visible one way after it starts; the queue's own
 * service time and Lambda's poll interval are not modelled (no published figure).
 *
 * During each run a bulk load of 20,000 records of a batch class commits at once: the relay does
 * not claim it, so the realtime figures include the database contention and no queueing behind it.
 */
import type { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ResidencyIndex } from '../lambda/shared/residency-plan';
import { applyMessages } from '../lambda/shared/sync/apply';
import type { Db } from '../lambda/shared/sync/db';
import { TargetBreakers } from '../lambda/shared/sync/dispatch';
import type { ChangeEvent } from '../lambda/shared/sync/events';
import { Masker } from '../lambda/shared/sync/masking';
import { writeChanges } from '../lambda/shared/sync/outbox-store';
import { relay } from '../lambda/shared/sync/relay';
import { SqsTransport } from '../lambda/shared/sync/sqs';
import { openDb } from './bench-db';
import { benchConfig, percentile, QUICK, sized, writeResults } from './options';
import type { Result } from './result';

const SOURCE = 'eu-central-1';
const TARGET = 'ap-southeast-1';
/** One-way delay of the farthest cited pair: half of 325.9 ms average round trip. */
const FAR_ONE_WAY_MS = 163;
const SECONDS = sized(20, 2);
/** The seeds' average and peak (quick: the peak only). */
const RATES = sized([10_000, 50_000], [50_000]);
const SCHEDULE_MS = 5 * 60_000;
/** Apply consumers (Lambda scales out per FIFO message group; 10 is a modest concurrency). */
const CONSUMERS = 10;

const index = new ResidencyIndex(benchConfig().plan);
const realtime = index.realtimeClasses();
const batchClass = index.plan.dataClasses.find((c) => c.priority === 'batch')?.id;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Queued {
  readonly eventId: string;
  readonly group: string;
  readonly body: string;
  readonly visibleAt: number;
}

/** An SQS client for the transport: each SendMessageBatch is one round trip away. */
function delayedSqs(oneWayMs: number, inbound: Queued[]): SQSClient {
  return {
    send: async (command: SendMessageBatchCommand) => {
      const at = performance.now() + oneWayMs;
      const entries = command.input.Entries ?? [];
      for (const e of entries)
        inbound.push({
          eventId: e.MessageDeduplicationId ?? '',
          group: e.MessageGroupId ?? '',
          body: e.MessageBody ?? '',
          visibleAt: at,
        });
      await sleep(2 * oneWayMs);
      return { Successful: entries.map((e) => ({ Id: e.Id })), Failed: [] };
    },
  } as unknown as SQSClient;
}

const hashOf = (s: string) => {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) | 0;
  return Math.abs(h);
};

async function run(ratePerMinute: number, oneWayMs: number): Promise<Result[]> {
  const src = await openDb();
  const dst = await openDb();
  const [relayDb, writerDb] = (await src.sessions(2)) as [Db, Db];
  const consumers = await dst.sessions(CONSUMERS);
  const inbound: Queued[] = [];
  const committedAt = new Map<string, number>();
  const appliedAt = new Map<string, number>();
  const masker = new Masker((c) => index.rulesOf(c)?.masking, {
    pseudonymKey: Buffer.from('bench-key'),
    dataKey: { plaintext: Buffer.alloc(32, 3), wrapped: 'YmVuY2g=' },
  });
  let stop = false;
  const deadline = () => (stop ? 0 : 60_000);
  const listen = relayDb.listen;
  if (!listen) throw new Error('the source database cannot LISTEN');
  const relaying = relay(
    {
      db: relayDb,
      index,
      masker,
      transport: new SqsTransport(
        () => delayedSqs(oneWayMs, inbound),
        (r) => `https://sqs.${r}.amazonaws.com/111111111111/bench-${r}.fifo`,
      ),
      parking: { park: async () => undefined },
      breakers: new TargetBreakers({ timeout: false, volumeThreshold: 1_000_000 }),
      targets: [TARGET],
    },
    { region: SOURCE, worker: 'relay', batchSize: 1000, maxAttempts: 5, classes: realtime },
    listen,
    { remainingMs: deadline, reserveMs: 0, pollMs: 1000 },
  );

  // The apply consumers: each owns the message groups that hash to it (FIFO order per entity).
  const consuming = consumers.map(async (db, w) => {
    while (!stop || inbound.some((m) => hashOf(m.group) % CONSUMERS === w)) {
      const now = performance.now();
      const mine: Queued[] = [];
      for (let i = 0; i < inbound.length && mine.length < 10; i++) {
        const m = inbound[i] as Queued;
        if (m.visibleAt <= now && hashOf(m.group) % CONSUMERS === w) mine.push(m);
      }
      if (mine.length === 0) {
        await sleep(2);
        continue;
      }
      for (const m of mine) inbound.splice(inbound.indexOf(m), 1);
      await applyMessages(
        {
          db,
          index,
          region: TARGET,
          parking: { park: async () => undefined },
          invalidator: { invalidate: async () => undefined },
          maxAttempts: 5,
        },
        mine.map((m, i) => ({ messageId: `${w}-${i}`, body: m.body, receiveCount: 1 })),
      );
      const t = performance.now();
      for (const m of mine) appliedAt.set(m.eventId, t);
    }
  });

  // The load: realtime records every 10 ms at the rate, one transaction each tick.
  const perTick = ratePerMinute / 60 / 100;
  const ticks = SECONDS * 100;
  let owed = 0;
  let n = 0;
  const start = performance.now();
  for (let tick = 0; tick < ticks; tick++) {
    owed += perTick;
    const events: ChangeEvent[] = [];
    for (; owed >= 1; owed -= 1, n += 1)
      events.push({
        eventId: `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`,
        entityType: 'product',
        entityKey: `p-${n % 5000}`,
        dataClass: 'public',
        homeRegion: SOURCE,
        originRegion: SOURCE,
        hlc: { wall: Date.now(), logical: n % 100 },
        op: 'upsert',
        payload: { title: `Lamp ${n}`, price: n % 97 },
      });
    if (events.length > 0) {
      await writeChanges(writerDb, events);
      const t = performance.now();
      for (const e of events) committedAt.set(e.eventId, t);
    }
    // The bulk load is built by the database (generate_series): in production it is another
    // client's work, and building 20,000 rows here would stall this process's timers instead.
    if (tick === 100 && batchClass)
      await writerDb.query(
        `INSERT INTO meridian_outbox (event_id, entity_type, entity_key, data_class, home_region,
           origin_region, hlc_wall, hlc_logical, op, payload)
         SELECT gen_random_uuid(), 'ledger', 'l-' || i, $1, $2, $2, $3, 0, 'upsert',
                jsonb_build_object('amount', i)
           FROM generate_series(1, 20000) AS i`,
        [batchClass, SOURCE, Date.now()],
      );
    const next = start + (tick + 1) * 10;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
  const loadSeconds = (performance.now() - start) / 1000;
  // Everything sent is applied (bounded wait), then the relay and the consumers stop.
  for (let i = 0; i < 500 && appliedAt.size < committedAt.size; i++) await sleep(20);
  stop = true;
  await relaying;
  await Promise.all(consuming);
  await src.close();
  await dst.close();

  const latencies = [...committedAt].flatMap(([id, t]) => {
    const a = appliedAt.get(id);
    return a === undefined ? [] : [a - t];
  });
  if (latencies.length < committedAt.size)
    throw new Error(
      `sync latency: ${committedAt.size - latencies.length} of ${committedAt.size} records not applied`,
    );
  // The baseline: each record waits for the next 5-minute run, spread evenly over the period.
  const scheduled = latencies.map((l, i) => l + ((i + 0.5) / latencies.length) * SCHEDULE_MS);
  const pair = oneWayMs > 0 ? 'far' : 'local';
  const name = `sync.latency.${ratePerMinute / 1000}k.${pair}`;
  const note = `${latencies.length} records at ${ratePerMinute}/min for ${loadSeconds.toFixed(1)} s, ${pair === 'far' ? `${FAR_ONE_WAY_MS} ms one way (${SOURCE} → ${TARGET})` : 'no network delay'}, ${dst.kind}; baseline: the 5-minute schedule`;
  const out: Result[] = [50, 95, 99].map((p) => {
    const value = Number(percentile(latencies, p).toFixed(1));
    const baseline = Number(percentile(scheduled, p).toFixed(0));
    return {
      name: `${name}.p${p}`,
      value,
      unit: 'ms',
      baseline,
      ratio: Number((baseline / value).toFixed(1)),
      note,
    };
  });
  const applied = (latencies.length / loadSeconds) * 60;
  out.push({
    name: `${name}.rate`,
    value: Math.round(applied),
    unit: 'records/min',
    baseline: ratePerMinute,
    ratio: Number((applied / ratePerMinute).toFixed(2)),
    note: 'records applied per minute of load, beside the offered rate',
  });
  return out;
}

async function main(): Promise<void> {
  const results: Result[] = [];
  for (const rate of RATES)
    for (const oneWay of [0, FAR_ONE_WAY_MS]) {
      const r = await run(rate, oneWay);
      results.push(...r);
      for (const x of r)
        console.log(
          `${x.name.padEnd(34)} ${String(x.value).padStart(9)} ${x.unit.padEnd(11)} baseline ${x.baseline}`,
        );
    }
  console.log(
    `wrote ${writeResults('sync-latency-results.json', results)}${QUICK ? ' (quick)' : ''}`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
