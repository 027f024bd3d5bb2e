import { Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';
import type { AuroraGlobal } from '../data/aurora-global';
import type { FunctionDefaults } from '../functions/function-defaults';
import { MeridianFunction } from '../functions/meridian-function';
import { ResidencyPlanLayer } from '../functions/residency-plan-layer';
import type { Naming } from '../naming';

export interface SubjectRequestFunctionProps {
  readonly naming: Naming;
  readonly region: string;
  readonly functions: FunctionDefaults;
  /** The residency plan: where a subject's objects can be (its classes and jurisdictions). */
  readonly planLayer: lambda.ILayerVersion;
  /** This region's member of its cell's Aurora global database. */
  readonly aurora: AuroraGlobal;
  /** Completion records go under `dsr/` (Object Lock). */
  readonly auditBucket: s3.IBucket;
  /** An access request's copies go under `dsr-exports/` (they stay in this region). */
  readonly dataBucket: s3.IBucket;
  /**
   * The cache's AUTH token, where this region defines it (a Global Datastore primary).
   * @default - none: the cache here takes no writes; the primary's deletions reach it
   */
  readonly cacheSecret?: secretsmanager.ISecret;
  /** `host:port` of the cache primary endpoint. */
  readonly cacheEndpoint: string;
  /**
   * The region's search domain: an erasure deletes the subject's documents from the indices it
   * leads (followers take it from their leaders), signed as the domain's admin role, as the
   * failover runbook's search step is.
   * @default - no search domain here
   */
  readonly search?: {
    readonly domain: opensearch.IDomain;
    readonly adminRoleArn: string;
    trustAdmin(role: iam.IRole): void;
  };
}

/**
 * One region's part of a data-subject request (lambda/dsr-region): access or erasure in this
 * region's database, named `<platform>-<env>-<region>-subject-request` so `npm run dsr` can print
 * the line that invokes it in each region the plan let the subject's records reach.
 */
export class SubjectRequestFunction extends Construct {
  readonly fn: MeridianFunction;

  constructor(scope: Construct, id: string, props: SubjectRequestFunctionProps) {
    super(scope, id);
    const key = props.functions.key;
    this.fn = new MeridianFunction(this, 'Function', {
      ...props.functions,
      handler: 'dsr-region',
      layers: [props.planLayer],
      functionName: props.naming.subjectRequestFunction(props.region),
      description:
        "Data-subject request, this region's part: access (copies → dsr-exports/) or erasure with tombstones (writer only); completion record → audit dsr/",
      timeoutSeconds: 300,
      environment: {
        MERIDIAN_REGION: props.region,
        MERIDIAN_RESIDENCY_PLAN_FILE: ResidencyPlanLayer.PLAN_FILE,
        MERIDIAN_DB_HOST: props.aurora.cluster.clusterEndpoint.hostname,
        MERIDIAN_AUDIT_BUCKET: props.auditBucket.bucketName,
        MERIDIAN_DATA_BUCKET: props.dataBucket.bucketName,
        MERIDIAN_CACHE_ENDPOINT: props.cacheEndpoint,
        ...(props.cacheSecret ? { MERIDIAN_CACHE_SECRET_ARN: props.cacheSecret.secretArn } : {}),
        ...(props.search
          ? {
              MERIDIAN_SEARCH_ENDPOINT: props.search.domain.domainEndpoint,
              MERIDIAN_SEARCH_ADMIN_ROLE_ARN: props.search.adminRoleArn,
            }
          : {}),
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_DB_HOST', 'MERIDIAN_AUDIT_BUCKET'],
    });
    props.aurora.grantCredentials(this.fn);
    props.cacheSecret?.grantRead(this.fn.function);
    this.fn.allow('UseRegionalKey', ['kms:GenerateDataKey', 'kms:Decrypt'], [key.keyArn]);
    this.fn.allow(
      'WriteCompletionRecords',
      ['s3:PutObject'],
      [props.auditBucket.arnForObjects('dsr/*')],
    );
    this.fn.allow(
      'WriteExports',
      ['s3:PutObject'],
      [props.dataBucket.arnForObjects('dsr-exports/*')],
    );
    // An erasure deletes every version of the subject's objects (lambda/shared/dsr/objects.ts).
    this.fn.allow('ListSubjectObjects', ['s3:ListBucketVersions'], [props.dataBucket.bucketArn]);
    this.fn.allow(
      'EraseSubjectObjects',
      ['s3:DeleteObjectVersion'],
      [props.dataBucket.arnForObjects('*')],
    );
    if (props.search) {
      props.search.trustAdmin(this.fn.function.role as iam.IRole);
      // Listing the indices, their replication status, _count and _search (GET/POST), and
      // _delete_by_query (POST): no PUT, no DELETE of an index.
      this.fn.allow(
        'SearchSubjectDocuments',
        ['es:ESHttpGet', 'es:ESHttpPost'],
        [`${props.search.domain.domainArn}/*`],
      );
      const domainId = Stack.of(this).getLogicalId(
        props.search.domain.node.defaultChild as opensearch.CfnDomain,
      );
      acknowledge(this.fn.function.role as iam.IRole, [
        {
          pack: PACKS.aws,
          rule: `AwsSolutions-IAM5[Resource::<${domainId}.Arn>/*]`,
          reason:
            "This region's own domain, paths known at run time: the subject's indices (_cat/indices), their replication _status, and _count, _search and _delete_by_query over them; GET and POST only.",
        },
      ]);
    }
    const id_ = (b: s3.IBucket) => Stack.of(this).getLogicalId(b.node.defaultChild as s3.CfnBucket);
    acknowledge(this.fn.function.role as iam.IRole, [
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::<${id_(props.auditBucket)}.Arn>/dsr/*]`,
        reason:
          'Completion records are new objects named by date, region and request id under dsr/; PutObject only, in the Object Lock bucket.',
      },
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::<${id_(props.dataBucket)}.Arn>/*]`,
        reason:
          "An erasure deletes the versions of one subject's objects under the class prefixes (<class>/<type>/<key>/, masked/<j>/<class>/<type>/<key>/), keys known only at run time; DeleteObjectVersion only, invoked by a person per request.",
      },
      {
        pack: PACKS.aws,
        rule: `AwsSolutions-IAM5[Resource::<${id_(props.dataBucket)}.Arn>/dsr-exports/*]`,
        reason:
          "An access request's copies are one new object per request and region under dsr-exports/; PutObject only.",
      },
    ]);
  }
}
