/**
 * One region's part of a data-subject request: find (access) or erase the subject's copies in this
 * region's database, check what is left, and say so in a completion record that names the
 * request, the region, the deadline and counts — no value and no entity key, so it can sit in the
 * Object Lock audit bucket for good (`dsr/<yyyy>/<mm>/<dd>/<region>/<request id>.json`).
 */

import { datePath } from '../date-path';
import type { Db } from '../sync/db';
import {
  correctedHere,
  countCopies,
  eraseCopies,
  findCopies,
  type SubjectCopy,
  type TableCounts,
} from './postgres';
import type { DsrAction, SubjectRequest } from './subject';

export interface CompletionRecord {
  readonly v: 1;
  readonly requestId: string;
  readonly action: DsrAction;
  readonly jurisdiction: string;
  readonly region: string;
  /** When this region finished (ISO 8601). */
  readonly at: string;
  /** When the answer is due by law (ISO 8601), from `jurisdictions.<j>.subjectRequests`. */
  readonly deadline: string;
  readonly onTime: boolean;
  /** How many entities the request named. */
  readonly entities: number;
  /**
   * `writer`: this region's database took the request; `reader`: it takes no writes (an Aurora
   * secondary), so the cell's writer erases the tables and replication carries it here — this
   * region erased only its own objects and cache.
   */
  readonly database: 'writer' | 'reader';
  /** access: copies found here, by table. */
  readonly found?: TableCounts;
  /** erase, rectify: rows removed here, by table. */
  readonly removed?: TableCounts;
  /**
   * rectify: how many of the entities have their corrected version here (written after the
   * request's clock), and how many still wait for it (sync has not brought it yet).
   */
  readonly corrected?: { readonly present: number; readonly awaiting: number };
  /** What the check after the erasure still found, by table: all zero, or the erasure failed. */
  readonly remaining?: TableCounts;
  /**
   * The subject's objects in the data bucket (every version): found (access), or removed and
   * still there after (erase).
   */
  readonly objects?: {
    readonly found?: number;
    readonly removed?: number;
    readonly remaining?: number;
    /** rectify: current objects still older than the correction (the application rewrites them). */
    readonly notRewritten?: number;
  };
  /**
   * The subject's search documents in this region's domain: found (access, leaders and followers),
   * or removed from the indices it leads and still there after (erase); `followers`: indices here
   * that follow another region's, which take the deletion from their leader.
   */
  readonly search?: {
    readonly found?: number;
    readonly removed?: number;
    readonly remaining?: number;
    readonly followers?: number;
  };
  /** erase: the entities' cache keys were unlinked here, or this region has no cache to drop. */
  readonly cache?: 'unlinked' | 'none here';
  readonly outcome: 'done' | 'incomplete';
}

export interface RegionResult {
  readonly record: CompletionRecord;
  /** access: the copies themselves, for the export the controller hands to the subject. */
  readonly copies?: readonly SubjectCopy[];
}

/** `dsr/<yyyy>/<mm>/<dd>/<region>/<request id>.json` in the region's audit bucket. */
export function completionKey(region: string, requestId: string, at: Date): string {
  return `dsr/${datePath(at)}/${region}/${requestId}.json`;
}

export async function runInRegion(
  db: Db,
  region: string,
  req: SubjectRequest,
  deadline: Date,
  now: () => Date = () => new Date(),
  database: 'writer' | 'reader' = 'writer',
): Promise<RegionResult> {
  const head = {
    v: 1 as const,
    requestId: req.requestId,
    action: req.action,
    jurisdiction: req.jurisdiction,
    region,
    deadline: deadline.toISOString(),
    entities: req.entities.length,
    database,
  };
  const finish = (at: Date) => ({ at: at.toISOString(), onTime: at <= deadline });
  if (req.action === 'access') {
    const copies = await findCopies(db, req.entities);
    return {
      record: { ...head, ...finish(now()), found: countCopies(copies), outcome: 'done' },
      copies,
    };
  }
  const rectify = req.action === 'rectify';
  const corrected = async () => {
    if (!rectify) return {};
    const present = await correctedHere(db, req.entities, req.at);
    return { corrected: { present, awaiting: req.entities.length - present } };
  };
  if (database === 'reader')
    return { record: { ...head, ...finish(now()), ...(await corrected()), outcome: 'done' } };
  const removed = await eraseCopies(db, req);
  const remaining = countCopies(await findCopies(db, req.entities, rectify ? req.at : undefined));
  const clean = Object.values(remaining).every((n) => n === 0);
  return {
    record: {
      ...head,
      ...finish(now()),
      removed,
      remaining,
      ...(await corrected()),
      outcome: clean ? 'done' : 'incomplete',
    },
  };
}
