/**
 * What the dsr-region function does with one invocation: check the request as if hostile, act in
 * this region's database (an erasure only where it takes writes: its cell's writer), keep the
 * completion record in the Object Lock audit bucket, and for an access request the copies in this
 * region's data bucket (they stay in the region they were found in; the controller collects them).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Invalidator } from '../sync/apply';
import { type Db, takesWrites } from '../sync/db';
import { entityId } from '../sync/events';
import { type CompletionRecord, completionKey, runInRegion } from './region-run';
import { parseSubjectRequest, SubjectRequestError } from './subject';

export interface SubjectRequestDeps {
  readonly db: Db;
  readonly s3: S3Client;
  readonly region: string;
  readonly auditBucket: string;
  /** Where an access request's copies are written (`dsr-exports/<request id>/<region>.json`). */
  readonly exportBucket: string;
  /**
   * Drops the erased entities' cached copies (`cache:<type>:<key>`) and tells application nodes
   * to drop theirs.
   * @default - no cache here (a Global Datastore secondary: the primary's deletions reach it)
   */
  readonly cache?: Invalidator;
  readonly now?: () => Date;
}

export interface SubjectRequestResult {
  readonly record: CompletionRecord;
  /** s3://bucket/key of the completion record. */
  readonly completion: string;
  /** s3://bucket/key of the copies (access). */
  readonly export?: string;
}

/** This region's database takes no writes: the erasure belongs on the cell's writer. */
export class NotWriterError extends Error {
  override readonly name = 'NotWriterError';
}

export async function handleSubjectRequest(
  deps: SubjectRequestDeps,
  event: unknown,
): Promise<SubjectRequestResult> {
  const e = (event ?? {}) as { request?: unknown; deadline?: unknown };
  const request = parseSubjectRequest(e.request);
  const deadline = new Date(typeof e.deadline === 'string' ? e.deadline : Number.NaN);
  if (Number.isNaN(deadline.getTime()))
    throw new SubjectRequestError('deadline: expected an ISO 8601 date');
  if (request.action === 'erase' && !(await takesWrites(deps.db)))
    throw new NotWriterError(
      `${deps.region} is not its cell's writer now (its database takes no writes): run the erasure in the region that is`,
    );
  const ran = await runInRegion(deps.db, deps.region, request, deadline, deps.now);
  let result = ran;
  if (request.action === 'erase') {
    if (deps.cache) await deps.cache.invalidate(request.entities.map(entityId));
    result = { ...ran, record: { ...ran.record, cache: deps.cache ? 'unlinked' : 'none here' } };
  }
  let exported: string | undefined;
  if (result.copies) {
    const key = `dsr-exports/${request.requestId}/${deps.region}.json`;
    await deps.s3.send(
      new PutObjectCommand({
        Bucket: deps.exportBucket,
        Key: key,
        Body: JSON.stringify({ region: deps.region, copies: result.copies }),
        ContentType: 'application/json',
      }),
    );
    exported = `s3://${deps.exportBucket}/${key}`;
  }
  const key = completionKey(deps.region, request.requestId, new Date(result.record.at));
  await deps.s3.send(
    new PutObjectCommand({
      Bucket: deps.auditBucket,
      Key: key,
      Body: JSON.stringify(result.record),
      ContentType: 'application/json',
      ChecksumAlgorithm: 'SHA256',
    }),
  );
  return {
    record: result.record,
    completion: `s3://${deps.auditBucket}/${key}`,
    ...(exported ? { export: exported } : {}),
  };
}
