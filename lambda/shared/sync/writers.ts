/**
 * Which region is each cell's writer now (issue 17 item 1). Sync no longer bakes the plan's
 * primaries in: a sender resolves the target cell's writer at run time from the one place the
 * failover path keeps it, the writer lease (`writer#<cell>` in the cell's lock table,
 * ../failover/writer-lease.ts), and a region that is not its cell's writer forwards what reaches
 * it. A target is named by its cell's plan primary (the key routes, outbox rows and metrics use);
 * its writer is whichever region of the cell holds the lease.
 *
 * When no lock endpoint answers, the last writer seen is kept, and before any was seen the plan's
 * primary is assumed: a message sent to a region that is not the writer is forwarded from there,
 * so a stale answer costs a hop, never a record.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { atFirstEndpoint } from '../failover/endpoints';
import { readWriterLease } from '../failover/writer-lease';
import type { ResidencyIndex } from '../residency-plan';
import type { WriterSeen } from './outbox-store';

/** What a lease read returns: the holder and epoch, or undefined when no writer ever held it. */
export type LeaseReader = (
  cell: string,
) => Promise<{ readonly holder: string; readonly epoch: number } | undefined>;

export interface WriterDirectory {
  /** The current writer of each target (targets are cells' plan primaries). */
  resolve(targets: readonly string[]): Promise<WriterSeen[]>;
}

/** Every target is its own writer: the plan as written, for a region with no lock to read. */
export const PLAN_WRITERS: WriterDirectory = {
  resolve: async (targets) => targets.map((target) => ({ target, writer: target, epoch: 0 })),
};

export interface LeaseWritersOptions {
  /**
   * How long an answer is reused (ms): the relay resolves on every run, and a promotion takes
   * longer than this to complete (the lease alone is 30 s).
   * @default 5000
   */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

/**
 * Writers from the lease of each target's cell. A lease naming a region outside the target's
 * cell is not believed (the lock table is the cell's own; a wrong answer must not widen where a
 * record goes): like an endpoint that does not answer, it leaves the last writer seen, or the
 * plan's primary.
 */
export class LeaseWriters implements WriterDirectory {
  private readonly cache = new Map<string, { seen: WriterSeen; at: number }>();

  constructor(
    private readonly index: ResidencyIndex,
    private readonly read: LeaseReader,
    private readonly options: LeaseWritersOptions = {},
  ) {}

  async resolve(targets: readonly string[]): Promise<WriterSeen[]> {
    return Promise.all(targets.map((t) => this.one(t)));
  }

  private async one(target: string): Promise<WriterSeen> {
    const now = (this.options.now ?? Date.now)();
    const cached = this.cache.get(target);
    if (cached && now - cached.at < (this.options.ttlMs ?? 5000)) return cached.seen;
    const cell = this.index.cellOf(target);
    if (!cell) return { target, writer: target, epoch: 0 };
    let lease: Awaited<ReturnType<LeaseReader>>;
    try {
      lease = await this.read(cell.jurisdiction);
    } catch {
      lease = undefined;
      if (cached) return cached.seen; // no endpoint answered: keep what was last seen
    }
    const seen: WriterSeen =
      lease && cell.regions.includes(lease.holder)
        ? { target, writer: lease.holder, epoch: lease.epoch }
        : (cached?.seen ?? { target, writer: cell.primary, epoch: 0 });
    this.cache.set(target, { seen, at: now });
    return seen;
  }
}

/** Where a cell's writer lease lives: its lock table and the endpoints to ask, nearest first. */
export interface LeaseLocation {
  readonly table: string;
  readonly endpoints: readonly string[];
}

/** `<table>@<region>,<region>…`, the form the functions' environment carries. */
export const LEASE_LOCATION = /^[\w.-]{3,255}@[a-z]{2}(-[a-z]+)+-\d(,[a-z]{2}(-[a-z]+)+-\d)*$/;

export const formatLeaseLocation = (l: LeaseLocation): string =>
  `${l.table}@${l.endpoints.join(',')}`;

export function parseLeaseLocation(s: string): LeaseLocation {
  const [table = '', endpoints = ''] = s.split('@');
  return { table, endpoints: endpoints.split(',') };
}

/**
 * Reads a cell's writer lease at the first of its lock endpoints that answers (strongly
 * consistent); `locations` maps each cell to `<table>@<endpoints>` (MERIDIAN_WRITER_LEASES). A
 * cell with no known location has no lease to read.
 */
export function leaseReader(
  locations: Readonly<Record<string, string>>,
  ddbIn: (region: string) => DynamoDBClient,
): LeaseReader {
  return async (cell) => {
    const raw = locations[cell];
    if (!raw) return undefined;
    const at = parseLeaseLocation(raw);
    return atFirstEndpoint(at.endpoints, (r) =>
      readWriterLease(ddbIn(r), { table: at.table, cell }),
    );
  };
}
