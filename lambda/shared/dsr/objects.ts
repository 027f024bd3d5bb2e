/**
 * A subject's objects in a region's data bucket. The key layout is the bucket's
 * (lib/storage/replication-routes.ts: `<class>/…` and `masked/<jurisdiction>/<class>/…`), and an
 * entity's objects sit under `<class>/<type>/<key>/` and `masked/<jurisdiction>/<class>/<type>/<key>/`.
 * The bucket is versioned, so an erasure deletes every version (a plain delete only adds a delete
 * marker and keeps the data); S3 replication does not carry version deletions, which is why each
 * region erases its own copies.
 */
import { DeleteObjectsCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ResidencyIndex } from '../residency-plan';
import { type EntityRef, personalClasses } from './subject';

/** S3's limit on one DeleteObjects request. */
export const DELETE_BATCH = 1000;

export interface ObjectVersion {
  readonly key: string;
  readonly versionId: string;
  /** The key's current version (S3's IsLatest). */
  readonly latest?: boolean;
  readonly lastModified?: Date;
}

/** Where a subject's objects can be, for the plan's personal classes and jurisdictions. */
export function subjectPrefixes(index: ResidencyIndex, entities: readonly EntityRef[]): string[] {
  const classes = personalClasses(index);
  const jurisdictions = [...new Set(index.plan.regions.map((r) => r.jurisdiction))].sort();
  return entities.flatMap((e) =>
    classes.flatMap((c) => [
      `${c}/${e.entityType}/${e.entityKey}/`,
      ...jurisdictions.map((j) => `masked/${j}/${c}/${e.entityType}/${e.entityKey}/`),
    ]),
  );
}

/** Every version (and delete marker) under `prefix`, page by page. */
export async function listVersions(
  s3: S3Client,
  bucket: string,
  prefix: string,
): Promise<ObjectVersion[]> {
  const out: ObjectVersion[] = [];
  let keyMarker: string | undefined;
  let versionMarker: string | undefined;
  for (;;) {
    const page = await s3.send(
      new ListObjectVersionsCommand({
        Bucket: bucket,
        Prefix: prefix,
        ...(keyMarker ? { KeyMarker: keyMarker } : {}),
        ...(versionMarker ? { VersionIdMarker: versionMarker } : {}),
      }),
    );
    for (const v of [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])])
      if (v.Key && v.VersionId)
        out.push({
          key: v.Key,
          versionId: v.VersionId,
          ...(v.IsLatest !== undefined ? { latest: v.IsLatest } : {}),
          ...(v.LastModified ? { lastModified: v.LastModified } : {}),
        });
    if (!page.IsTruncated) return out;
    keyMarker = page.NextKeyMarker;
    versionMarker = page.NextVersionIdMarker;
  }
}

/** Deletes these versions, 1,000 per request; returns the keys that lost one. */
async function deleteVersions(
  s3: S3Client,
  bucket: string,
  versions: readonly ObjectVersion[],
): Promise<Set<string>> {
  const keys = new Set<string>();
  for (let i = 0; i < versions.length; i += DELETE_BATCH) {
    const part = versions.slice(i, i + DELETE_BATCH);
    const r = await s3.send(
      new DeleteObjectsCommand({
        Bucket: bucket,
        Delete: {
          Objects: part.map((v) => ({ Key: v.key, VersionId: v.versionId })),
          Quiet: true,
        },
      }),
    );
    // Names the count and the S3 error codes, never a key (a key names the entity).
    if (r.Errors?.length)
      throw new Error(
        `S3 refused ${r.Errors.length} version deletion(s): ${[...new Set(r.Errors.map((e) => e.Code))].join(', ')}`,
      );
    for (const v of part) keys.add(v.key);
  }
  return keys;
}

/**
 * Deletes every version under the prefixes (or only those `pick` chooses); returns how many
 * objects (keys) lost a version.
 */
export async function eraseObjects(
  s3: S3Client,
  bucket: string,
  prefixes: readonly string[],
  pick: (v: ObjectVersion) => boolean = () => true,
): Promise<number> {
  const keys = new Set<string>();
  for (const prefix of prefixes)
    for (const k of await deleteVersions(
      s3,
      bucket,
      (await listVersions(s3, bucket, prefix)).filter(pick),
    ))
      keys.add(k);
  return keys.size;
}

/** The keys of the subject's objects (current or not) under the prefixes. */
export async function findObjects(
  s3: S3Client,
  bucket: string,
  prefixes: readonly string[],
): Promise<string[]> {
  const keys = new Set<string>();
  for (const prefix of prefixes)
    for (const v of await listVersions(s3, bucket, prefix)) keys.add(v.key);
  return [...keys].sort();
}

/**
 * A rectification's objects: every noncurrent version written before `correctedAt` goes (old
 * copies of the inaccurate data); a current one that old stays (deleting it would leave the
 * application without the object) and is counted as not yet rewritten.
 */
export async function eraseSupersededObjects(
  s3: S3Client,
  bucket: string,
  prefixes: readonly string[],
  correctedAt: Date,
): Promise<{ removed: number; notRewritten: number }> {
  const old = (v: ObjectVersion) => (v.lastModified?.getTime() ?? 0) < correctedAt.getTime();
  const removed = new Set<string>();
  let notRewritten = 0;
  for (const prefix of prefixes) {
    // One listing: the old noncurrent versions go, the old current ones are counted.
    const versions = (await listVersions(s3, bucket, prefix)).filter(old);
    for (const k of await deleteVersions(
      s3,
      bucket,
      versions.filter((v) => !v.latest),
    ))
      removed.add(k);
    notRewritten += versions.filter((v) => v.latest).length;
  }
  return { removed: removed.size, notRewritten };
}
