import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import { vpcOnlySecurityGroup } from '../network/vpc-only-security-group';
import { encryptedLogGroup } from '../observability/encrypted-log-group';
import type { CacheMembership } from './global-datastore-membership';

export const CACHE_PORT = 6379;

export interface RegionalCacheProps {
  readonly vpc: ec2.IVpc;
  readonly vpcCidr: string;
  readonly key: kms.IKey;
  /** Physical id of this region's replication group (≤ 40 characters). */
  readonly replicationGroupId: string;
  readonly membership: CacheMembership;
  readonly engine: 'redis' | 'valkey';
  readonly engineVersion: string;
  readonly nodeType: string;
  readonly replicas: number;
  readonly snapshotRetentionDays: number;
  readonly logRetentionDays: number;
}

/**
 * The region's cache: a replication group in the isolated subnets, multi-AZ with automatic
 * failover, TLS in transit, AUTH token from Secrets Manager, at-rest encryption with the regional
 * key, daily snapshots, slow and engine logs to encrypted log groups. In a cell's primary region it
 * also creates the Global Datastore; a secondary joins it by its full ID and inherits engine,
 * AUTH and encryption in transit from the primary.
 */
export class RegionalCache extends Construct {
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  readonly securityGroup: ec2.SecurityGroup;
  readonly globalDatastore?: elasticache.CfnGlobalReplicationGroup;
  /** The AUTH token; only where this region defines it (not in secondaries). */
  readonly authSecret?: secretsmanager.Secret;

  constructor(scope: Construct, id: string, props: RegionalCacheProps) {
    super(scope, id);
    const m = props.membership;
    this.securityGroup = vpcOnlySecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      vpcCidr: props.vpcCidr,
      port: CACHE_PORT,
      description: 'Cache: TLS Redis protocol from this VPC only',
    });
    const subnets = new elasticache.CfnSubnetGroup(this, 'Subnets', {
      description: 'Meridian cache: isolated subnets',
      subnetIds: props.vpc.selectSubnets({ subnetType: ec2.SubnetType.PRIVATE_ISOLATED }).subnetIds,
    });
    const logs = (name: string, logType: string) => ({
      destinationType: 'cloudwatch-logs',
      logFormat: 'json',
      logType,
      destinationDetails: {
        cloudWatchLogsDetails: {
          logGroup: encryptedLogGroup(this, name, {
            key: props.key,
            retentionDays: props.logRetentionDays,
          }).logGroupName,
        },
      },
    });

    const common: elasticache.CfnReplicationGroupProps = {
      replicationGroupId: props.replicationGroupId,
      replicationGroupDescription: `Meridian cache (${m.role})`,
      cacheSubnetGroupName: subnets.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      numCacheClusters: 1 + props.replicas,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      atRestEncryptionEnabled: true,
      kmsKeyId: props.key.keyArn,
      snapshotRetentionLimit: props.snapshotRetentionDays,
      snapshotWindow: '03:00-05:00',
      autoMinorVersionUpgrade: true,
      logDeliveryConfigurations: [logs('SlowLogs', 'slow-log'), logs('EngineLogs', 'engine-log')],
    };

    if (m.role === 'secondary') {
      this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
        ...common,
        globalReplicationGroupId: m.globalId,
      });
      acknowledge(this.replicationGroup, [
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-AEC3',
          reason: `A Global Datastore secondary inherits encryption in transit from its primary (${m.primary}); at-rest encryption uses this region's key.`,
        },
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-AEC6',
          reason: `A Global Datastore secondary inherits the AUTH token of its primary (${m.primary}); the token never leaves the jurisdiction.`,
        },
      ]);
    } else {
      this.authSecret = new secretsmanager.Secret(this, 'AuthToken', {
        description: 'Meridian cache AUTH token (never replicated out of this region)',
        encryptionKey: props.key,
        generateSecretString: { passwordLength: 64, excludePunctuation: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
        ...common,
        engine: props.engine,
        engineVersion: props.engineVersion,
        cacheNodeType: props.nodeType,
        port: CACHE_PORT,
        transitEncryptionEnabled: true,
        transitEncryptionMode: 'required',
        authToken: this.authSecret.secretValue.unsafeUnwrap(),
      });
      acknowledge(this.authSecret, [
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-SMG4',
          reason:
            'AUTH token rotation needs the ElastiCache-aware rotation function of the operations issue (30-day credential rotation); until then it is rotated by redeploying.',
        },
        ...inAllPacks(
          'SecretsManagerRotationEnabled',
          'AUTH token rotation needs the ElastiCache-aware rotation function of the operations issue (30-day credential rotation).',
        ),
      ]);
      if (m.role === 'primary') {
        this.globalDatastore = new elasticache.CfnGlobalReplicationGroup(this, 'GlobalDatastore', {
          globalReplicationGroupIdSuffix: m.suffix,
          globalReplicationGroupDescription: `Meridian cache, ${m.secondaries.length} secondary region(s) of the same jurisdiction`,
          members: [
            {
              replicationGroupId: props.replicationGroupId,
              replicationGroupRegion: Stack.of(this).region,
              role: 'PRIMARY',
            },
          ],
        });
        this.globalDatastore.addResourceDependency(this.replicationGroup);
      }
    }
    this.replicationGroup.applyRemovalPolicy(RemovalPolicy.RETAIN);
    acknowledge(this.replicationGroup, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-AEC5',
        reason:
          'The cache sits in isolated subnets and accepts only the VPC range over TLS with AUTH; a non-default port would add no protection.',
      },
      {
        pack: PACKS.guard,
        rule: 'elasticache_repl_grp_rbac_auth_enabled_check',
        reason:
          'Clients authenticate with an AUTH token kept in Secrets Manager over TLS, in isolated subnets; the cache holds only copies that sync invalidates. RBAC user groups cannot be added to a Global Datastore member by CloudFormation (the member inherits the primary).',
      },
    ]);
  }
}
