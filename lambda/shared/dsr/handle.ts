/**
 * What the dsr-region function does with one invocation: check the request as if hostile, act in
 * this region's database (an erasure of the tables only where it takes writes, the cell's writer;
 * every region erases its own objects and cache), keep the
 * completion record in the Object Lock audit bucket, and for an access request the copies in this
 * region's data bucket (they stay in the region they were found in; the controller collects them).
 */
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { SignedHttp } from '../signed-http';
import type { Invalidator } from '../sync/apply';
import { type Db, takesWrites } from '../sync/db';
import { tombstoneOf } from '../sync/erasure';
import { entityId } from '../sync/events';
import { eraseObjects, eraseSupersededObjects, findObjects } from './objects';
import { type CompletionRecord, completionKey, runInRegion } from './region-run';
import { eraseSearchDocuments, findSearchDocuments } from './search';
import { EXPORTS, parseSubjectRequest, type SubjectRequest, SubjectRequestError } from './subject';

export interface SubjectRequestDeps {
  readonly db: Db;
  readonly s3: S3Client;
  readonly region: string;
  readonly auditBucket: string;
  /**
   * The region's data bucket: the subject's objects are found or erased in it (objects.ts), and
   * an access request's copies are written to it (`dsr-exports/<request id>/<region>.json`).
   */
  readonly dataBucket: string;
  /** Where the subject's objects can be in the data bucket (objects.ts subjectPrefixes). */
  readonly prefixesOf: (entities: SubjectRequest['entities']) => string[];
  /**
   * Drops the erased entities' cached copies (`cache:<type>:<key>`) and tells application nodes
   * to drop theirs.
   * @default - no cache here (a Global Datastore secondary: the primary's deletions reach it)
   */
  readonly cache?: Invalidator;
  /**
   * This region's search domain (signed as its admin role) and the index patterns a subject's
   * documents can be in (search.ts subjectIndexPatterns).
   * @default - no search domain: nothing to do there
   */
  readonly search?: { readonly http: () => Promise<SignedHttp>; readonly patterns: string[] };
  readonly now?: () => Date;
}

export interface SubjectRequestResult {
  readonly record: CompletionRecord;
  /** s3://bucket/key of the completion record. */
  readonly completion: string;
  /** s3://bucket/key of the copies, one object per entity (access). */
  readonly exports?: readonly string[];
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
  // Every region of a cell holds its own objects (S3 replication carries no version deletion),
  // but only the cell's writer can erase the tables; Aurora carries that to the others.
  const database = (await takesWrites(deps.db)) ? 'writer' : 'reader';
  // An earlier access request's export holds copies too: it goes with the rest.
  const exportPrefixes = request.entities.map((x) => `${EXPORTS}/${tombstoneOf(x)}/`);
  const prefixes = [...deps.prefixesOf(request.entities), ...exportPrefixes];
  const ran = await runInRegion(deps.db, deps.region, request, deadline, deps.now, database);
  let result = ran;
  let objects: string[] = [];
  let documents: Awaited<ReturnType<typeof findSearchDocuments>> = [];
  if (request.action === 'rectify') {
    // The corrected version was written after the request's clock; older object versions go.
    const correctedAt = new Date(request.at.wall + 1);
    const superseded = await eraseSupersededObjects(
      deps.s3,
      deps.dataBucket,
      deps.prefixesOf(request.entities),
      correctedAt,
    );
    // An export made before the correction holds the old values and nobody rewrites it: it goes.
    const exports = await eraseObjects(
      deps.s3,
      deps.dataBucket,
      exportPrefixes,
      (v) => (v.lastModified?.getTime() ?? 0) < correctedAt.getTime(),
    );
    if (deps.cache) await deps.cache.invalidate(request.entities.map(entityId));
    result = {
      ...ran,
      record: {
        ...ran.record,
        objects: { ...superseded, removed: superseded.removed + exports },
        cache: deps.cache ? 'unlinked' : 'none here',
      },
    };
  } else if (request.action === 'erase') {
    const removed = await eraseObjects(deps.s3, deps.dataBucket, prefixes);
    const left = (await findObjects(deps.s3, deps.dataBucket, prefixes)).length;
    const search = deps.search
      ? await eraseSearchDocuments(await deps.search.http(), deps.search.patterns, request.entities)
      : undefined;
    if (deps.cache) await deps.cache.invalidate(request.entities.map(entityId));
    result = {
      ...ran,
      record: {
        ...ran.record,
        objects: { removed, remaining: left },
        ...(search ? { search } : {}),
        cache: deps.cache ? 'unlinked' : 'none here',
        ...(left > 0 || (search?.remaining ?? 0) > 0 ? { outcome: 'incomplete' as const } : {}),
      },
    };
  } else {
    objects = await findObjects(deps.s3, deps.dataBucket, prefixes);
    documents = deps.search
      ? await findSearchDocuments(await deps.search.http(), deps.search.patterns, request.entities)
      : [];
    result = {
      ...ran,
      record: {
        ...ran.record,
        objects: { found: objects.length },
        ...(deps.search ? { search: { found: documents.length } } : {}),
      },
    };
  }
  const exported: string[] = [];
  if (result.copies) {
    // One object per entity, under its tombstone hash, so an erasure of the entity finds it.
    for (const x of request.entities) {
      const id = entityId(x);
      const key = `${EXPORTS}/${tombstoneOf(x)}/${request.requestId}/${deps.region}.json`;
      await deps.s3.send(
        new PutObjectCommand({
          Bucket: deps.dataBucket,
          Key: key,
          Body: JSON.stringify({
            region: deps.region,
            entity: id,
            copies: result.copies.filter((c) => entityId(c) === id),
            objects: objects.filter((o) => o.includes(`/${x.entityType}/${x.entityKey}/`)),
            search: documents.filter(
              (h) => h.source.entityType === x.entityType && h.source.entityKey === x.entityKey,
            ),
          }),
          ContentType: 'application/json',
        }),
      );
      exported.push(`s3://${deps.dataBucket}/${key}`);
    }
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
    ...(result.copies ? { exports: exported } : {}),
  };
}
