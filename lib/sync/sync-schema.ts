import { CustomResource } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { SCHEMA_VERSION } from '../../lambda/shared/sync/migrations';
import type { AuroraGlobal } from '../data/aurora-global';
import type { FunctionDefaults } from '../functions/function-defaults';
import { functionParts, MeridianFunction } from '../functions/meridian-function';
import { hardenFramework } from '../functions/provider-framework';

export const SCHEMA_RESOURCE_TYPE = 'Custom::MeridianSyncSchema';

export interface SyncSchemaProps {
  readonly region: string;
  /** This region's member of the cell's Aurora global database. */
  readonly aurora: AuroraGlobal;
  /** VPC, key, logs, memory and concurrency of the handler and the framework function. */
  readonly functions: FunctionDefaults;
}

/**
 * The sync tables, created and migrated at deploy: one `Custom::MeridianSyncSchema` per region of
 * a cell, whose handler runs the migrations when the region is the cell's writer (a secondary
 * holds the writer's tables through Aurora and reports their version). Its `Version` property is
 * the code's schema version, so a deploy that brings a new migration updates the resource and
 * runs it; a failed migration fails the deploy. Idempotent: each migration runs once, under an
 * advisory lock, and a re-run changes nothing.
 */
export class SyncSchema extends Construct {
  readonly onEvent: MeridianFunction;
  readonly provider: cr.Provider;
  readonly resource: CustomResource;

  constructor(scope: Construct, id: string, props: SyncSchemaProps) {
    super(scope, id);
    const parts = functionParts(new Construct(this, 'Functions'), {
      vpc: props.functions.vpc,
      key: props.functions.key,
      logRetentionDays: props.functions.logRetentionDays,
      purpose: 'Sync schema custom resource',
    });
    this.onEvent = new MeridianFunction(this, 'OnEvent', {
      ...props.functions,
      handler: 'sync-schema',
      description: "Custom resource (sync schema): run the sync migrations on the cell's writer",
      timeoutSeconds: 300,
      environment: {
        MERIDIAN_REGION: props.region,
        MERIDIAN_DB_HOST: props.aurora.cluster.clusterEndpoint.hostname,
      },
      requiredEnvironment: ['MERIDIAN_REGION', 'MERIDIAN_DB_HOST'],
      shared: parts,
    });
    props.aurora.grantCredentials(this.onEvent);
    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEvent.function,
      vpc: props.functions.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [parts.securityGroup],
      logGroup: parts.logGroup,
      providerFunctionEnvEncryption: props.functions.key,
    });
    hardenFramework(this.provider, parts, props.functions);
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: this.provider.serviceToken,
      resourceType: SCHEMA_RESOURCE_TYPE,
      properties: { Version: String(SCHEMA_VERSION) },
    });
    // The cluster and its writer instance exist before the migrations run.
    this.resource.node.addDependency(props.aurora.cluster);
  }
}
