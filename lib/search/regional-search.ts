import { Duration, Lazy, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as opensearch from 'aws-cdk-lib/aws-opensearchservice';
import { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';
import { vpcOnlySecurityGroup } from '../network/vpc-only-security-group';
import { encryptedLogGroup } from '../observability/encrypted-log-group';

export interface RegionalSearchProps {
  readonly vpc: ec2.IVpc;
  readonly vpcCidr: string;
  readonly key: kms.IKey;
  /** Physical domain name (≤ 28 characters), known to the other regions for replication. */
  readonly domainName: string;
  readonly maxAzs: number;
  readonly dataNodes: number;
  readonly dataNodeType: string;
  readonly masterNodes: number;
  readonly masterNodeType: string;
  readonly volumeGb: number;
  readonly logRetentionDays: number;
  /** Regions whose domains follow this one (cross-cluster reads allowed). @default - none */
  readonly followers?: readonly string[];
}

/**
 * Zones a domain spreads over: the largest of 3 or 2 (within maxAzs) that divides the data-node
 * count evenly; undefined when none does.
 */
export function searchZoneCount(maxAzs: number, dataNodes: number): 2 | 3 | undefined {
  return ([3, 2] as const).find((z) => z <= maxAzs && dataNodes % z === 0);
}

/**
 * The region's OpenSearch domain: inside the VPC (HTTPS from the VPC range only), TLS 1.2 with
 * forward secrecy, node-to-node and at-rest encryption with the regional key, fine-grained access
 * control with an IAM master role, dedicated masters, zone awareness, and slow, application and
 * audit logs to encrypted log groups (resource policy written here, scoped to this account).
 */
export class RegionalSearch extends Construct {
  readonly domain: opensearch.Domain;
  readonly securityGroup: ec2.SecurityGroup;
  /**
   * Fine-grained access control master user. Only the roles given to {@link trustAdmin} may assume
   * it (the cross-cluster replication functions); with none, nobody can.
   */
  readonly adminRole: iam.IRole;
  private readonly admins: iam.IRole[] = [];

  constructor(scope: Construct, id: string, props: RegionalSearchProps) {
    super(scope, id);
    const { account, region } = Stack.of(this);
    this.securityGroup = vpcOnlySecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      vpcCidr: props.vpcCidr,
      port: 443,
      description: 'OpenSearch: HTTPS from this VPC only',
    });
    const adminRole = new iam.Role(this, 'AdminRole', {
      // Replaced below: an iam.Role needs a principal, and the trusted roles come later.
      assumedBy: new iam.AccountPrincipal(account),
      description: `OpenSearch fine-grained access control master user for ${props.domainName}`,
      maxSessionDuration: Duration.hours(1),
    });
    (adminRole.node.defaultChild as iam.CfnRole).assumeRolePolicyDocument = Lazy.any({
      produce: () => adminTrustPolicy(this.admins.map((r) => r.roleArn)),
    });
    this.adminRole = adminRole;
    const group = (name: string) =>
      encryptedLogGroup(this, name, { key: props.key, retentionDays: props.logRetentionDays });
    const slowSearch = group('SlowSearchLogs');
    const slowIndex = group('SlowIndexLogs');
    const app = group('AppLogs');
    const audit = group('AuditLogs');
    const policy = new logs.CfnResourcePolicy(this, 'LogsPolicy', {
      policyName: `${props.domainName}-logs`,
      policyDocument: Stack.of(this).toJsonString({
        Version: '2012-10-17',
        Statement: [
          {
            Effect: 'Allow',
            Principal: { Service: 'es.amazonaws.com' },
            Action: ['logs:PutLogEvents', 'logs:CreateLogStream'],
            Resource: [slowSearch, slowIndex, app, audit].map((g) => `${g.logGroupArn}`),
            Condition: { StringEquals: { 'aws:SourceAccount': account } },
          },
        ],
      }),
    });
    // Validated in regions/ (searchNodesFitAzs); 2 is only a type-level fallback.
    const azs = searchZoneCount(props.maxAzs, props.dataNodes) ?? 2;
    this.domain = new opensearch.Domain(this, 'Domain', {
      domainName: props.domainName,
      version: opensearch.EngineVersion.OPENSEARCH_2_19,
      vpc: props.vpc,
      vpcSubnets: [
        {
          subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS,
          availabilityZones: props.vpc.availabilityZones.slice(0, azs),
        },
      ],
      securityGroups: [this.securityGroup],
      capacity: {
        dataNodes: props.dataNodes,
        dataNodeInstanceType: props.dataNodeType,
        masterNodes: props.masterNodes,
        masterNodeInstanceType: props.masterNodeType,
        multiAzWithStandbyEnabled: false,
      },
      zoneAwareness: { enabled: true, availabilityZoneCount: azs },
      ebs: { volumeSize: props.volumeGb, volumeType: ec2.EbsDeviceVolumeType.GP3 },
      encryptionAtRest: { enabled: true, kmsKey: props.key },
      nodeToNodeEncryption: true,
      enforceHttps: true,
      tlsSecurityPolicy: opensearch.TLSSecurityPolicy.TLS_1_2_PFS,
      fineGrainedAccessControl: { masterUserArn: this.adminRole.roleArn },
      logging: {
        slowSearchLogEnabled: true,
        slowSearchLogGroup: slowSearch,
        slowIndexLogEnabled: true,
        slowIndexLogGroup: slowIndex,
        appLogEnabled: true,
        appLogGroup: app,
        auditLogEnabled: true,
        auditLogGroup: audit,
      },
      suppressLogsResourcePolicy: true,
      enableVersionUpgrade: true,
      enableAutoSoftwareUpdate: true,
      offPeakWindowEnabled: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const cfn = this.domain.node.defaultChild as opensearch.CfnDomain;
    cfn.addResourceDependency(policy);
    // Set on the resource itself (the L2 prop adds a custom-resource Lambda to apply it later).
    cfn.accessPolicies = {
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Principal: { AWS: `arn:${Stack.of(this).partition}:iam::${account}:root` },
          Action: 'es:ESHttp*',
          Resource: `arn:${Stack.of(this).partition}:es:${region}:${account}:domain/${props.domainName}/*`,
        },
        // Cross-cluster reads by the followers the residency plan allows (AWS requires this
        // statement with a wildcard principal; it grants nothing without an accepted connection).
        ...((props.followers ?? []).length > 0
          ? [
              {
                Effect: 'Allow',
                Principal: { AWS: '*' },
                Action: 'es:ESCrossClusterGet',
                Resource: `arn:${Stack.of(this).partition}:es:${region}:${account}:domain/${props.domainName}`,
              },
            ]
          : []),
      ],
    };
    if ((props.followers ?? []).length > 0) {
      acknowledge(this.domain, [
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-OS5',
          reason: `es:ESCrossClusterGet with a wildcard principal is how AWS lets follower domains (${(props.followers ?? []).join(', ')}) read; it grants nothing without a connection this account accepted, and all other actions need this account's IAM and fine-grained access control.`,
        },
      ]);
    }
    acknowledge(this.domain, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-OS3',
        reason:
          'A VPC domain: reachable only from the VPC range on 443 (security group), then IAM-signed requests of this account and fine-grained access control; IP allow-lists do not apply.',
      },
      {
        pack: PACKS.guard,
        rule: 'opensearch_https_required_check',
        reason:
          'HTTPS is enforced with Policy-Min-TLS-1-2-PFS-2023-10: TLS 1.2 or later with forward secrecy, stricter than the one policy the rule lists (Policy-Min-TLS-1-2-2019-07).',
      },
    ]);
  }

  /** Lets `role` assume the admin role: named in its trust policy and allowed in its own policy. */
  trustAdmin(role: iam.IRole): void {
    this.admins.push(role);
    this.adminRole.grantAssumeRole(role);
  }
}

/**
 * The admin role's trust policy: exactly the given role ARNs, never the account root; with none,
 * an explicit deny (a trust policy needs a statement).
 */
export function adminTrustPolicy(roleArns: readonly string[]): Record<string, unknown> {
  const statement =
    roleArns.length > 0
      ? { Effect: 'Allow', Principal: { AWS: [...roleArns] }, Action: 'sts:AssumeRole' }
      : { Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' };
  return { Version: '2012-10-17', Statement: [statement] };
}
