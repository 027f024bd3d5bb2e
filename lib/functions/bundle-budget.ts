/**
 * How big a function's bundle may be (issue 26). A cold start reads, parses and evaluates the whole
 * bundle, so its size is the first cost of every new execution environment; `npm run bench`
 * reports each bundle's load time beside it (lambda.<name>.load).
 *
 * Every function stays under BUNDLE_LIMIT_KIB except the ones named in OVER_LIMIT, each with the
 * ceiling it may not grow past and what makes it big (KiB of the minified bundle, measured from
 * esbuild's metafile). A function that drops under the limit leaves the list; a listed one that
 * grows past its ceiling, or an unlisted one that crosses the limit, fails
 * test/lambda/bundle.test.ts.
 */

/** The size every function's bundle stays under, in KiB. */
export const BUNDLE_LIMIT_KIB = 400;

export interface OverLimit {
  /** The bundle may not grow past this, in KiB. */
  readonly ceilingKiB: number;
  /** What the function needs that the limit cannot hold. */
  readonly why: string;
}

/** The SDK's shared core (@smithy/core, @aws-sdk/core), in every function that calls AWS. */
const SDK_CORE = 'the SDK core ~165 KiB';

export const OVER_LIMIT: Readonly<Record<string, OverLimit>> = {
  'sync-apply': {
    ceilingKiB: 716,
    why: `${SDK_CORE}; ioredis ~133 KiB (cache invalidation, every batch in a writer region); S3 ~120 KiB (audit object with its lineage records, every batch); pg ~71 KiB; DynamoDB, SQS, Secrets Manager; erasure tombstones (issue 18) took it past 712`,
  },
  'sync-dispatch': {
    ceilingKiB: 581,
    why: `${SDK_CORE}; S3 ~120 KiB (audit object, every run); pg ~71 KiB; DynamoDB (writer leases), KMS (data key), SQS, Secrets Manager`,
  },
  'sync-redrive': {
    ceilingKiB: 527,
    why: `${SDK_CORE}; S3 ~120 KiB (audit object of every redrive); pg ~71 KiB; DynamoDB, SQS, Secrets Manager`,
  },
  'dsr-region': {
    ceilingKiB: 646,
    why: `${SDK_CORE}; ioredis ~133 KiB (an erasure drops cached copies); S3 ~120 KiB (objects, completion record and export); the residency plan reader; pg ~71 KiB; Secrets Manager; STS and the SigV4 signer (search documents, as the domain's admin role) took it past 613. Invoked a few times per request, never on a hot path`,
  },
  'dsr-relay': {
    ceilingKiB: 414,
    why: `${SDK_CORE}; S3 ~120 KiB (the request record, with its checksum, into the Object Lock audit bucket) and Lambda ~69 KiB (each reached region's subject-request function). Runs a few steps per data-subject request, never on a hot path`,
  },
  health: {
    ceilingKiB: 441,
    why: `${SDK_CORE}; S3 ~120 KiB (bucket reachable) and SSM ~68 KiB (the writer sign), both checked on every request; SQS, CloudWatch`,
  },
  'failover-rollback': {
    ceilingKiB: 428,
    why: `${SDK_CORE}; RDS ~82 KiB and Route 53 ~55 KiB (both undone in one rollback); DynamoDB, Secrets Manager`,
  },
  'failover-repoint-search': {
    ceilingKiB: 427,
    why: `${SDK_CORE}; Lambda ~69 KiB (the failback invokes the original region's step) and OpenSearch ~59 KiB; DynamoDB, STS`,
  },
};
