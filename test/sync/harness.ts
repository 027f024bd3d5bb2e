/**
 * Two or more regions wired like production, in one process: each region has its own Postgres
 * (PGlite or a schema on DATABASE_URL), the real dispatch and apply code, the real SQS adapters
 * over a stateful fake SQS, and a recording cache invalidator.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { type ApplyReport, applyMessages } from '../../lambda/shared/sync/apply';
import {
  type DispatchDeps,
  type DispatchOptions,
  type DispatchReport,
  dispatchOnce,
  TargetBreakers,
} from '../../lambda/shared/sync/dispatch';
import { Masker } from '../../lambda/shared/sync/masking';
import { type RedriveOptions, type RedriveReport, redrive } from '../../lambda/shared/sync/redrive';
import { type RelayOptions, relay } from '../../lambda/shared/sync/relay';
import { SqsDeadLetterQueue, SqsParkingLot, SqsTransport } from '../../lambda/shared/sync/sqs';
import type { WriterDirectory } from '../../lambda/shared/sync/writers';
import { openTestDb, type TestDb } from '../support/db';
import { FakeSqs } from '../support/fake-sqs';
import { copyRegions, EIGHT_REGIONS, edit, load } from '../support/fixture';

export const inboundUrl = (r: string) =>
  `https://sqs.${r}.amazonaws.com/111111111111/meridian-test-${r}-sync-inbound.fifo`;
export const deadLetterUrl = (r: string) =>
  `https://sqs.${r}.amazonaws.com/111111111111/meridian-test-${r}-sync-dead-letter.fifo`;

export interface Region {
  readonly id: string;
  readonly t: TestDb;
  readonly invalidated: string[];
  dispatch(worker?: string): Promise<DispatchReport>;
  /** The relay over `classes` until `options.remainingMs` runs short. */
  relay(classes: readonly string[], options: RelayOptions): Promise<DispatchReport[]>;
  /** One Lambda invocation over the queue head; `crash` skips the acknowledgement. */
  drain(options?: { crash?: boolean; max?: number }): Promise<ApplyReport>;
  /** The redrive function's run over this region's dead-letter queue. */
  redrive(options?: RedriveOptions): Promise<RedriveReport>;
}

export async function openRegion(
  id: string,
  index: ResidencyIndex,
  sqs: FakeSqs,
  targets: readonly string[],
  options: {
    maxAttempts?: number;
    batchSize?: number;
    fenced?: () => Promise<boolean>;
    /** Whether the region is its cell's writer now (the modelled Aurora role). */
    isWriter?: () => Promise<boolean>;
    /** Each target cell's writer now (dispatch). */
    writers?: WriterDirectory;
    /** Its own cell's writer now: apply forwards there when this region is not the writer. */
    cellWriter?: () => Promise<string>;
  } = {},
): Promise<Region> {
  const t = await openTestDb();
  const invalidated: string[] = [];
  const client = new SQSClient({ region: id, maxAttempts: 1 });
  const masker = new Masker((c) => index.rulesOf(c)?.masking, {
    pseudonymKey: Buffer.from(`key-of-${index.jurisdictionOf(id)}`),
    dataKey: { plaintext: Buffer.alloc(32, 7), wrapped: 'd3JhcHBlZA==' },
  });
  const breakers = new TargetBreakers({ timeout: false, volumeThreshold: 1000 });
  const maxAttempts = options.maxAttempts ?? 3;
  let n = 0;
  const deps: DispatchDeps = {
    db: t.db,
    index,
    masker,
    transport: new SqsTransport(() => client, inboundUrl),
    parking: new SqsParkingLot(client, deadLetterUrl(id)),
    breakers,
    targets,
    ...(options.fenced ? { fenced: options.fenced } : {}),
    ...(options.isWriter ? { isWriter: options.isWriter } : {}),
    ...(options.writers ? { writers: options.writers } : {}),
  };
  const dispatchOptions = (worker: string, classes?: readonly string[]): DispatchOptions => ({
    region: id,
    worker,
    batchSize: options.batchSize ?? 1000,
    maxAttempts,
    backoff: () => 0,
    ...(classes ? { classes } : {}),
  });
  return {
    id,
    t,
    invalidated,
    dispatch: (worker = `${id}-w${++n}`) => dispatchOnce(deps, dispatchOptions(worker)),
    relay: (classes, relayOptions) => {
      const listen = t.db.listen;
      if (!listen) throw new Error('this database cannot LISTEN');
      return relay(deps, dispatchOptions(`${id}-relay${++n}`, classes), listen, relayOptions);
    },
    async drain({ crash = false, max = 10 } = {}) {
      const batch = sqs.receive(inboundUrl(id), max);
      const report = await applyMessages(
        {
          db: t.db,
          index,
          region: id,
          parking: new SqsParkingLot(client, deadLetterUrl(id)),
          invalidator: { invalidate: async (keys) => void invalidated.push(...keys) },
          maxAttempts,
          ...(options.fenced ? { fenced: options.fenced } : {}),
          ...(options.cellWriter
            ? {
                follow: {
                  isWriter: options.isWriter ?? (async () => true),
                  writer: options.cellWriter,
                  transport: new SqsTransport(() => client, inboundUrl),
                },
              }
            : {}),
        },
        batch.map((m) => ({ messageId: m.messageId, body: m.body, receiveCount: m.receiveCount })),
      );
      if (!crash) {
        const failed = new Set(report.failedMessageIds);
        sqs.ack(
          inboundUrl(id),
          batch.map((m) => m.messageId).filter((x) => !failed.has(x)),
        );
      }
      return report;
    },
    redrive: (redriveOptions) =>
      redrive(
        {
          region: id,
          db: t.db,
          deadLetters: new SqsDeadLetterQueue(client, deadLetterUrl(id)),
          inbound: new SqsTransport(() => client, inboundUrl),
          ...(options.fenced ? { fenced: options.fenced } : {}),
        },
        redriveOptions,
      ),
  };
}

/** Drains a region's inbound queue completely (bounded, so a bug cannot loop forever). */
export async function drainAll(r: Region, sqs: FakeSqs): Promise<ApplyReport[]> {
  const reports: ApplyReport[] = [];
  for (let i = 0; i < 1000 && sqs.queue(inboundUrl(r.id)).length > 0; i++)
    reports.push(await r.drain());
  return reports;
}

export interface World {
  readonly sqs: FakeSqs;
  readonly us: Region;
  readonly eu: Region;
  readonly ap: Region;
  close(): Promise<void>;
}

/** us-east-1 sending to eu-west-1 and ap-southeast-1, which send back to it. */
export async function openWorld(index: ResidencyIndex): Promise<World> {
  const sqs = new FakeSqs();
  const us = await openRegion('us-east-1', index, sqs, ['ap-southeast-1', 'eu-west-1']);
  const eu = await openRegion('eu-west-1', index, sqs, ['us-east-1']);
  const ap = await openRegion('ap-southeast-1', index, sqs, ['us-east-1']);
  return {
    sqs,
    us,
    eu,
    ap,
    close: async () => {
      sqs.restore();
      await Promise.all([us, eu, ap].map((r) => r.t.close()));
    },
  };
}

/**
 * The shipped eight regions with one more masked export: US pii reaches APAC (not restricted) and
 * the UAE (contractual clauses), masked both ways; the EU and India never.
 */
export function usPiiToTwoJurisdictions(): ResidencyIndex {
  const dir = copyRegions(EIGHT_REGIONS);
  edit(dir, 'global.yaml', 'maskedExportTo: [apac]', 'maskedExportTo: [apac, ae]');
  edit(
    dir,
    'global.yaml',
    / {4}transfers:\n {6}apac:\n/,
    '    transfers:\n      ae:\n        basis: contractual-clauses\n        reference: "Standard contractual clauses (test)"\n      apac:\n',
  );
  return new ResidencyIndex(load(dir).plan);
}
