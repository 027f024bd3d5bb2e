import { Duration, RemovalPolicy, SecretValue, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import type { MeridianFunction } from '../functions/meridian-function';
import { vpcOnlySecurityGroup } from '../network/vpc-only-security-group';
import { encryptedLogGroup } from '../observability/encrypted-log-group';

export type AuroraRole = 'primary' | 'secondary';

export interface AuroraGlobalProps {
  readonly vpc: ec2.IVpc;
  /** The region's IPv4 range: the only source allowed to reach the cluster. */
  readonly vpcCidr: string;
  readonly key: kms.IKey;
  /** `primary` holds the writer and the global cluster; `secondary` joins it by identifier. */
  readonly role: AuroraRole;
  /** Name of the cell's global cluster, known to every region without cross-region references. */
  readonly globalClusterIdentifier: string;
  /** Physical id of this region's cluster (unique per env and region). */
  readonly clusterIdentifier: string;
  readonly engineVersion: string;
  readonly minAcu: number;
  readonly maxAcu: number;
  readonly readers: number;
  readonly backupRetentionDays: number;
  readonly logRetentionDays: number;
  /** Name of the cell's master secret (`Naming.auroraSecret`): the same in every region of the cell. */
  readonly secretName: string;
  /**
   * The other regions of the cell (same jurisdiction, never beyond): the writer's master secret is
   * replicated to each. Ignored on a secondary.
   */
  readonly secretReplicaRegions: readonly string[];
  /** Alias (without `alias/`) of the customer key every region has: each replica is encrypted with its own region's. */
  readonly keyAlias: string;
}

export const AURORA_PORT = 5432;
/** The variable holding the master secret's name in a function given it (`grantCredentials`). */
export const DB_SECRET_NAME_ENV = 'MERIDIAN_DB_SECRET_NAME';
const ADMIN_USER = 'meridian_admin';

/**
 * One region's member of its jurisdiction's Aurora PostgreSQL global database. The primary region
 * creates the `AWS::RDS::GlobalCluster` and the writer; secondaries are headless-capable clusters
 * that join by identifier (deploy the primary region first). Encrypted with the regional key, IAM
 * auth, TLS forced, logical replication on (for the outbox reader), backups, deletion protection
 * and RETAIN, logs to an encrypted group, Performance Insights and enhanced monitoring. The master
 * secret, named `Naming.auroraSecret(jurisdiction)`, lives in the writer's region and is replicated
 * to the cell's other regions only, so a promoted region has the credentials when the writer's
 * region is down; every region reads it in its own region by that name (`grantCredentials`).
 */
export class AuroraGlobal extends Construct {
  readonly cluster: rds.DatabaseCluster;
  readonly securityGroup: ec2.SecurityGroup;
  /** Only in the primary region. */
  readonly globalCluster?: rds.CfnGlobalCluster;
  /** Only in the primary region. */
  readonly secret?: secretsmanager.ISecret;
  /**
   * The master secret's name: the primary in the writer's region, its replica in the cell's
   * other regions (a replica keeps the primary's name). Read it by name, in the function's own region.
   */
  readonly secretName: string;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: AuroraGlobalProps) {
    super(scope, id);
    this.secretName = props.secretName;
    this.key = props.key;
    const engine = rds.DatabaseClusterEngine.auroraPostgres({
      version: rds.AuroraPostgresEngineVersion.of(
        props.engineVersion,
        props.engineVersion.split('.')[0] ?? '',
      ),
    });
    const parameterGroup = new rds.ParameterGroup(this, 'Parameters', {
      engine,
      description:
        'Meridian: TLS only, logical replication for the outbox reader, statement logging',
      parameters: {
        'rds.force_ssl': '1',
        'rds.logical_replication': '1',
        log_min_duration_statement: '1000',
        log_connections: '1',
        log_disconnections: '1',
      },
    });
    this.securityGroup = vpcOnlySecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      vpcCidr: props.vpcCidr,
      port: AURORA_PORT,
      description: 'Aurora: PostgreSQL from this VPC only',
    });

    // The log group RDS writes to, created first so it is encrypted and retained.
    const logGroup = encryptedLogGroup(this, 'PostgresqlLogs', {
      key: props.key,
      retentionDays: props.logRetentionDays,
    });
    (logGroup.node.defaultChild as { logGroupName?: string }).logGroupName =
      `/aws/rds/cluster/${props.clusterIdentifier}/postgresql`;

    const instance = (name: string) =>
      rds.ClusterInstance.serverlessV2(name, {
        autoMinorVersionUpgrade: true,
        enablePerformanceInsights: true,
        performanceInsightEncryptionKey: props.key,
        performanceInsightRetention: rds.PerformanceInsightRetention.DEFAULT,
        scaleWithWriter: name === 'reader1',
      });
    const primary = props.role === 'primary';
    this.cluster = new rds.DatabaseCluster(this, 'Cluster', {
      engine,
      clusterIdentifier: props.clusterIdentifier,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      securityGroups: [this.securityGroup],
      port: AURORA_PORT,
      writer: instance('writer'),
      readers: Array.from({ length: props.readers }, (_, i) => instance(`reader${i + 1}`)),
      serverlessV2MinCapacity: props.minAcu,
      serverlessV2MaxCapacity: props.maxAcu,
      parameterGroup,
      storageEncrypted: true,
      storageEncryptionKey: props.key,
      iamAuthentication: true,
      backup: {
        retention: Duration.days(props.backupRetentionDays),
        preferredWindow: '02:00-03:00',
      },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
      cloudwatchLogsExports: ['postgresql'],
      monitoringInterval: Duration.seconds(60),
      copyTagsToSnapshot: true,
      defaultDatabaseName: primary ? 'meridian' : undefined,
      credentials: primary
        ? rds.Credentials.fromGeneratedSecret(ADMIN_USER, {
            // A fixed name, so every region of the cell finds its replica without a cross-region
            // reference. Secret names cannot change in place: the first deploy with it replaces the
            // secret once (same logical id; CloudFormation creates the named one, the cluster's
            // master password follows the new value, and the old, RETAINed secret is left behind
            // to delete by hand).
            secretName: props.secretName,
            encryptionKey: props.key,
            replicaRegions: props.secretReplicaRegions.map((region) => ({
              region,
              encryptionKey: regionKeyByAlias(this, region, props.keyAlias),
            })),
          })
        : // Replaced below: a secondary has no master user of its own; it inherits the primary's.
          rds.Credentials.fromPassword(
            ADMIN_USER,
            SecretValue.unsafePlainText('secondary-has-no-master-password'),
          ),
    });
    const cfn = this.cluster.node.defaultChild as rds.CfnDBCluster;
    cfn.node.addDependency(logGroup);
    cfn.globalClusterIdentifier = props.globalClusterIdentifier;

    if (primary) {
      this.globalCluster = new rds.CfnGlobalCluster(this, 'GlobalCluster', {
        globalClusterIdentifier: props.globalClusterIdentifier,
        engine: 'aurora-postgresql',
        engineVersion: props.engineVersion,
        storageEncrypted: true,
        deletionProtection: true,
      });
      this.globalCluster.applyRemovalPolicy(RemovalPolicy.RETAIN);
      cfn.addResourceDependency(this.globalCluster);
      this.secret = this.cluster.secret;
      // Admin credentials outlive the stack like the data they open (replicas included).
      (
        this.cluster.node.tryFindChild('Secret') as secretsmanager.Secret | undefined
      )?.applyRemovalPolicy(RemovalPolicy.RETAIN);
      // Rotation stays on the primary (a replica cannot be rotated): "If you turn on rotation for your
      // primary secret, Secrets Manager rotates the secret in the primary Region, and the new secret
      // value propagates to all of the associated replica secrets. You don't have to manage rotation
      // individually for all of the replicas."
      // (https://docs.aws.amazon.com/secretsmanager/latest/userguide/replicate-secrets.html). So the
      // replicas keep the password the global cluster has.
      this.cluster.addRotationSingleUser({ automaticallyAfter: Duration.days(30) });
      // The rotation function's ingress uses the cluster port token, which rule packs cannot read.
      for (const rule of this.securityGroup.node.children.filter((c) =>
        c.node.id.startsWith('from '),
      )) {
        acknowledge(
          rule,
          ['EC2RestrictedSSH', 'EC2RestrictedCommonPorts'].flatMap((r) =>
            inAllPacks(
              r,
              'Ingress from the secret-rotation function’s security group on the PostgreSQL port only; no CIDR, so no SSH or common port is open.',
            ),
          ),
        );
      }
    } else {
      cfn.addPropertyDeletionOverride('MasterUsername');
      cfn.addPropertyDeletionOverride('MasterUserPassword');
    }

    acknowledge(this.cluster, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-RDS11',
        reason:
          'The cluster sits in isolated subnets and accepts only the VPC range; a non-default port would add no protection and break standard PostgreSQL tooling.',
      },
      ...inAllPacks(
        'RDSInBackupPlan',
        'AWS Backup protects Aurora at cluster level: the cluster is in the regional backup plan (Backup/Plan/Aurora selection); the rule only looks for instances.',
      ).filter((a) => a.pack !== PACKS.pci),
    ]);
    const monitoringRole = this.cluster.node.tryFindChild('MonitoringRole');
    if (monitoringRole) {
      acknowledge(monitoringRole, [
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole]',
          reason:
            'AWS-maintained policy that lets RDS enhanced monitoring publish OS metrics to CloudWatch Logs; nothing else uses the role.',
        },
      ]);
    }
  }

  /**
   * Gives `fn` the master secret of its own region, by name: the primary in the writer's region,
   * the replica in the cell's other regions. Sets `MERIDIAN_DB_SECRET_NAME` and grants
   * GetSecretValue on `<name>-??????` in this region and account only (the six characters Secrets
   * Manager appends; `-*` would also match a longer name) and kms:Decrypt on this region's key
   * through Secrets Manager here only. No other region's copy, no other secret.
   *
   * The secret's `host` is the cluster it was attached to, in the writer's region: a function in a
   * promoted region connects to its own cluster's endpoint with the secret's user and password.
   */
  grantCredentials(fn: MeridianFunction): void {
    const { partition, region, account } = Stack.of(this);
    fn.function.addEnvironment(DB_SECRET_NAME_ENV, this.secretName);
    fn.allow(
      'ReadAuroraSecret',
      ['secretsmanager:GetSecretValue'],
      [`arn:${partition}:secretsmanager:${region}:${account}:secret:${this.secretName}-??????`],
    );
    fn.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'DecryptAuroraSecret',
        actions: ['kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: {
          StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
        },
      }),
    );
  }
}

/**
 * The Meridian customer key of `region`, by its alias ARN there (the alias is the same in every
 * region): Secrets Manager accepts an alias for a replica's key and resolves it in the replica's
 * region, so no cross-region reference is needed.
 */
function regionKeyByAlias(scope: Construct, region: string, alias: string): kms.IKey {
  const { partition, account } = Stack.of(scope);
  return kms.Key.fromKeyArn(
    scope,
    `SecretReplicaKey-${region}`,
    `arn:${partition}:kms:${region}:${account}:alias/${alias}`,
  );
}

/**
 * Which Aurora global database a region belongs to and in which role, read from the residency plan:
 * a region joins its cell's global cluster only if every class the database holds may be
 * replicated to it in full from the cell's primary.
 */
export function auroraMembership(
  index: ResidencyIndex,
  region: string,
  classes: readonly string[],
): { readonly role: AuroraRole; readonly jurisdiction: string } | undefined {
  const cell = index.cellOf(region);
  if (!cell) return undefined;
  if (cell.primary === region) return { role: 'primary', jurisdiction: cell.jurisdiction };
  return index.fullReplicaTargets(cell.primary, classes).includes(region)
    ? { role: 'secondary', jurisdiction: cell.jurisdiction }
    : undefined;
}
