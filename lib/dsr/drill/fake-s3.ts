/**
 * (Drill and test support: not deployed.)
 * A stateful, versioned S3, through aws-sdk-client-mock, modelling what the data bucket is (its
 * template: VersioningConfiguration Enabled; checked in test/dsr/handler.test.ts):
 * every put adds a version (with its LastModified from `now`, and IsLatest on the newest when
 * listed); a delete without a version id adds a delete marker and keeps the data;
 * a delete with one removes that version for good; ListObjectVersions pages at MaxKeys (1,000 by
 * default, S3's cap) with key and version markers; DeleteObjects refuses more than 1,000 keys
 * (S3: MalformedXML). Buckets are separate; an unknown bucket is NoSuchBucket.
 */
import {
  DeleteObjectsCommand,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';

interface Version {
  readonly versionId: string;
  readonly body?: string;
  readonly deleteMarker: boolean;
  /** When it was written (S3's LastModified). */
  readonly lastModified: Date;
}

const s3Error = (name: string, message: string) => Object.assign(new Error(message), { name });

export class FakeS3 {
  /** bucket → key → versions, oldest first. */
  readonly buckets = new Map<string, Map<string, Version[]>>();
  private seq = 0;
  private readonly stub = mockClient(S3Client);
  /** The clock a version's LastModified is read from (tests may move it). */
  now: () => Date = () => new Date();

  constructor(buckets: readonly string[]) {
    for (const b of buckets) this.buckets.set(b, new Map());
    this.stub.on(PutObjectCommand).callsFake((i) => {
      this.versions(i.Bucket, i.Key).push({
        versionId: this.nextVersion(),
        body: String(i.Body),
        deleteMarker: false,
        lastModified: this.now(),
      });
      return {};
    });
    this.stub.on(ListObjectVersionsCommand).callsFake((i) => {
      const max = Math.min(i.MaxKeys ?? 1000, 1000);
      const all = [...this.bucket(i.Bucket)]
        .filter(([k]) => k.startsWith(i.Prefix ?? ''))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        // S3 lists a key's versions newest first.
        .flatMap(([key, vs]) =>
          [...vs].reverse().map((v, n) => ({ key, ...v, isLatest: n === 0 })),
        );
      let start = 0;
      if (i.KeyMarker)
        start =
          all.findIndex((v) => v.key === i.KeyMarker && v.versionId === i.VersionIdMarker) + 1;
      const page = all.slice(start, start + max);
      const last = page.at(-1);
      const truncated = start + max < all.length;
      const entry = (v: (typeof page)[number]) => ({
        Key: v.key,
        VersionId: v.versionId,
        IsLatest: v.isLatest,
        LastModified: v.lastModified,
      });
      return {
        Versions: page.filter((v) => !v.deleteMarker).map(entry),
        DeleteMarkers: page.filter((v) => v.deleteMarker).map(entry),
        IsTruncated: truncated,
        ...(truncated && last
          ? { NextKeyMarker: last.key, NextVersionIdMarker: last.versionId }
          : {}),
      };
    });
    this.stub.on(DeleteObjectsCommand).callsFake((i) => {
      const objects = i.Delete?.Objects ?? [];
      if (objects.length > 1000)
        throw s3Error('MalformedXML', 'The XML you provided was not well-formed');
      for (const o of objects) {
        const vs = this.versions(i.Bucket, o.Key);
        if (o.VersionId) {
          const at = vs.findIndex((v) => v.versionId === o.VersionId);
          if (at >= 0) vs.splice(at, 1);
          if (vs.length === 0) this.bucket(i.Bucket).delete(o.Key);
        } else
          vs.push({ versionId: this.nextVersion(), deleteMarker: true, lastModified: this.now() });
      }
      return {
        Deleted: objects.map((o: { Key?: string; VersionId?: string }) => ({
          Key: o.Key,
          VersionId: o.VersionId,
        })),
      };
    });
  }

  /** Every stored body (every version) under `bucket`, for searching by value. */
  bodies(bucket: string): string[] {
    return [...this.bucket(bucket).values()].flatMap((vs) =>
      vs.flatMap((v) => (v.body === undefined ? [] : [v.body])),
    );
  }

  /** The current body of `key` (undefined when deleted or absent). */
  body(bucket: string, key: string): string | undefined {
    const last = this.bucket(bucket).get(key)?.at(-1);
    return last && !last.deleteMarker ? last.body : undefined;
  }

  keys(bucket: string): string[] {
    return [...this.bucket(bucket).keys()].sort();
  }

  restore(): void {
    this.stub.restore();
  }

  private bucket(name: string): Map<string, Version[]> {
    const b = this.buckets.get(name);
    if (!b) throw s3Error('NoSuchBucket', 'The specified bucket does not exist');
    return b;
  }

  private versions(bucket: string, key: string): Version[] {
    const b = this.bucket(bucket);
    let vs = b.get(key);
    if (!vs) {
      vs = [];
      b.set(key, vs);
    }
    return vs;
  }

  private nextVersion(): string {
    this.seq += 1;
    return `v${String(this.seq).padStart(8, '0')}`;
  }
}
