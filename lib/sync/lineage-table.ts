import { Aws } from 'aws-cdk-lib';
import * as athena from 'aws-cdk-lib/aws-athena';
import * as glue from 'aws-cdk-lib/aws-glue';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { Hop, LineageRecord } from '../../lambda/shared/sync/lineage';
import { acknowledge, PACKS } from '../compliance/nag';
import type { Naming } from '../naming';

/** The table's name in the region's audit database. */
export const LINEAGE_TABLE = 'sync_lineage';

/** Audit kinds that carry lineage records (redrive objects carry none). */
export const LINEAGE_KINDS = ['dispatch', 'apply'] as const;

/** The first day a partition can hold (projection needs a start; earlier days hold nothing). */
export const LINEAGE_SINCE = '2026/01/01';

/**
 * Hive types of a lineage record and its hops, field by field: `satisfies` makes the compiler
 * refuse a field of lineage.ts that the table does not declare (the contract is the type).
 */
export const HOP_COLUMNS = {
  target: 'string',
  decision: 'string',
  rule: 'string',
  mode: 'string',
  basis: 'string',
  maskedFields: 'array<string>',
  outcome: 'string',
  reason: 'string',
  forwardedTo: 'string',
} as const satisfies Record<keyof Hop, string>;

const struct = (fields: Readonly<Record<string, string>>) =>
  `struct<${Object.entries(fields)
    .map(([k, t]) => `${k.toLowerCase()}:${t}`)
    .join(',')}>`;

export const RECORD_COLUMNS = {
  eventId: 'string',
  entity: 'string',
  dataClass: 'string',
  op: 'string',
  homeRegion: 'string',
  sourceRegion: 'string',
  correlationId: 'string',
  consent: 'boolean',
  hops: `array<${struct(HOP_COLUMNS)}>`,
} as const satisfies Record<keyof LineageRecord, string>;

/** The audit object's own columns (besides the partition keys kind, day and region). */
export const OBJECT_COLUMNS = {
  correlationId: 'string',
  at: 'string',
  records: `array<${struct(RECORD_COLUMNS)}>`,
} as const;

export interface LineageTableProps {
  readonly naming: Naming;
  readonly region: string;
  readonly auditBucket: s3.IBucket;
  /** Encrypts the workgroup's query results (Athena-managed storage). */
  readonly key: kms.IKey;
}

/**
 * Record lineage where it lives: a Glue table over the region's audit bucket (the audit objects
 * sync writes, one JSON document a line), partitioned by kind, day and region through partition
 * projection (no crawler, nothing to repair), and an Athena workgroup whose results Athena keeps,
 * encrypted with the regional key, so no results bucket is needed and the Object Lock bucket is
 * only read. `npm run lineage` prints the query to run here.
 */
export class LineageTable extends Construct {
  readonly database: glue.CfnDatabase;
  readonly table: glue.CfnTable;
  readonly workgroup: athena.CfnWorkGroup;

  constructor(scope: Construct, id: string, props: LineageTableProps) {
    super(scope, id);
    const { naming, region } = props;
    const databaseName = naming.auditDatabase(region);
    const location = `s3://${props.auditBucket.bucketName}/sync/`;
    this.database = new glue.CfnDatabase(this, 'Database', {
      catalogId: Aws.ACCOUNT_ID,
      databaseInput: {
        name: databaseName,
        description: `Meridian audit of ${region}: sync record lineage (no personal values)`,
      },
    });
    this.table = new glue.CfnTable(this, 'Table', {
      catalogId: Aws.ACCOUNT_ID,
      databaseName,
      tableInput: {
        name: LINEAGE_TABLE,
        description:
          'One row per sync run (audit object); records[].hops[] say where each record went, under which rule, masked how, and what became of it',
        tableType: 'EXTERNAL_TABLE',
        parameters: {
          classification: 'json',
          'projection.enabled': 'true',
          'projection.kind.type': 'enum',
          'projection.kind.values': LINEAGE_KINDS.join(','),
          'projection.day.type': 'date',
          'projection.day.format': 'yyyy/MM/dd',
          'projection.day.range': `${LINEAGE_SINCE},NOW`,
          'projection.day.interval': '1',
          'projection.day.interval.unit': 'DAYS',
          'projection.region.type': 'enum',
          'projection.region.values': region,
          'storage.location.template': `${location}\${kind}/\${day}/\${region}/`,
        },
        partitionKeys: [
          { name: 'kind', type: 'string' },
          { name: 'day', type: 'string' },
          { name: 'region', type: 'string' },
        ],
        storageDescriptor: {
          location,
          inputFormat: 'org.apache.hadoop.mapred.TextInputFormat',
          outputFormat: 'org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat',
          serdeInfo: { serializationLibrary: 'org.openx.data.jsonserde.JsonSerDe' },
          columns: Object.entries(OBJECT_COLUMNS).map(([name, type]) => ({
            name: name.toLowerCase(),
            type,
          })),
        },
      },
    });
    this.table.addResourceDependency(this.database);
    this.workgroup = new athena.CfnWorkGroup(this, 'Workgroup', {
      name: naming.lineageWorkgroup(region),
      description: `Lineage queries over ${databaseName}`,
      state: 'ENABLED',
      workGroupConfiguration: {
        enforceWorkGroupConfiguration: true,
        publishCloudWatchMetricsEnabled: true,
        managedQueryResultsConfiguration: {
          enabled: true,
          encryptionConfiguration: { kmsKey: props.key.keyArn },
        },
      },
    });
    const managed =
      "Query results are kept by Athena (ManagedQueryResultsConfiguration), encrypted with the region's customer-managed KMS key; the rule reads only ResultConfiguration, which a workgroup with managed results must not have.";
    acknowledge(this.workgroup, [
      {
        pack: PACKS.guard,
        rule: 'athena_workgroup_results_encrypted_at_rest_check',
        reason: managed,
      },
      {
        pack: PACKS.guard,
        rule: 'athena_workgroup_results_encrypted_at_rest_kms_check',
        reason: managed,
      },
    ]);
  }
}
