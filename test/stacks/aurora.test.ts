import { Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const built = buildApp(config);
const cellOf = (id: string) => config.plan.cells.find((c) => c.regions.includes(id));

/** [region, role, global cluster] for every shipped region, from the residency plan's cells. */
const members = config.regions.map((r) => {
  const cell = cellOf(r.id);
  return [
    r.id,
    cell?.primary === r.id ? 'primary' : 'secondary',
    `meridian-prod-${r.jurisdiction}`,
  ] as const;
});

describe('Aurora PostgreSQL global database, one per jurisdiction cell', () => {
  test('cells: a writer region per jurisdiction; DR regions only inside it', () => {
    expect(members.filter(([, role]) => role === 'secondary').map(([r, , g]) => [r, g])).toEqual([
      ['ap-south-2', 'meridian-prod-in'],
      ['eu-central-1', 'meridian-prod-eu'],
      ['us-west-2', 'meridian-prod-us'],
    ]);
  });

  describe.each(members)('%s (%s of %s)', (id, role, globalId) => {
    const t = () => built.template(id);
    const cluster = () => Object.values(t().findResources('AWS::RDS::DBCluster'))[0];

    test('joins the cell’s global cluster by identifier; only the primary creates it', () => {
      t().resourceCountIs('AWS::RDS::DBCluster', 1);
      expect(cluster()?.Properties.GlobalClusterIdentifier).toBe(globalId);
      t().resourceCountIs('AWS::RDS::GlobalCluster', role === 'primary' ? 1 : 0);
      if (role === 'primary') {
        t().hasResource('AWS::RDS::GlobalCluster', {
          Properties: {
            GlobalClusterIdentifier: globalId,
            Engine: 'aurora-postgresql',
            StorageEncrypted: true,
            DeletionProtection: true,
          },
          DeletionPolicy: 'Retain',
        });
      }
    });

    test.each([
      [
        'storage encrypted with the regional key',
        {
          StorageEncrypted: true,
          KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RegionalKey'), 'Arn'] },
        },
      ],
      ['IAM database authentication', { EnableIAMDatabaseAuthentication: true }],
      ['backups kept for the configured days', { BackupRetentionPeriod: 30 }],
      ['deletion protection', { DeletionProtection: true }],
      ['PostgreSQL log export', { EnableCloudwatchLogsExports: ['postgresql'] }],
      ['a per-region cluster id', { DBClusterIdentifier: `meridian-prod-${id}` }],
    ])('%s', (_name, props) => {
      t().hasResourceProperties('AWS::RDS::DBCluster', props);
    });

    test('data is retained when the stack goes', () => {
      expect(cluster()?.DeletionPolicy).toBe('Retain');
    });

    test('TLS forced and logical replication on, in the cluster parameter group', () => {
      t().hasResourceProperties('AWS::RDS::DBClusterParameterGroup', {
        Parameters: Match.objectLike({ 'rds.force_ssl': '1', 'rds.logical_replication': '1' }),
      });
    });

    test('instances: Performance Insights encrypted with the regional key, enhanced monitoring, minor upgrades', () => {
      const instances = Object.values(t().findResources('AWS::RDS::DBInstance'));
      expect(instances).toHaveLength(1 + 1);
      for (const i of instances) {
        expect(i.Properties).toMatchObject({
          EnablePerformanceInsights: true,
          PerformanceInsightsKMSKeyId: {
            'Fn::GetAtt': [expect.stringMatching(/^RegionalKey/), 'Arn'],
          },
          MonitoringInterval: 60,
          AutoMinorVersionUpgrade: true,
          PubliclyAccessible: false,
        });
      }
    });

    test('reachable only from the VPC range on 5432', () => {
      const region = config.regions.find((r) => r.id === id);
      t().hasResourceProperties('AWS::EC2::SecurityGroup', {
        GroupDescription: 'Aurora: PostgreSQL from this VPC only',
        SecurityGroupIngress: [
          { CidrIp: region?.cidr, FromPort: 5432, ToPort: 5432, IpProtocol: 'tcp' },
        ],
      });
    });

    test('its log group exists first, encrypted, with retention', () => {
      t().hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/rds/cluster/meridian-prod-${id}/postgresql`,
        KmsKeyId: Match.anyValue(),
        RetentionInDays: 365,
      });
    });

    test('master secret in the writer’s region, named for the cell, KMS-encrypted, replicated to the cell’s other regions only, rotated every 30 days', () => {
      const secrets = Object.values(t().findResources('AWS::SecretsManager::Secret')).filter((x) =>
        JSON.stringify(x.Properties.GenerateSecretString ?? {}).includes('meridian_admin'),
      );
      if (role === 'secondary') {
        expect(secrets).toHaveLength(0);
        expect(cluster()?.Properties.MasterUsername).toBeUndefined();
        expect(cluster()?.Properties.MasterUserPassword).toBeUndefined();
        return;
      }
      expect(secrets).toHaveLength(1);
      expect(secrets[0]?.Properties.Name).toBe(`${globalId}-aurora-credentials`);
      expect(secrets[0]?.Properties.KmsKeyId).toBeDefined();
      const peers = (cellOf(id)?.regions ?? []).filter((r) => r !== id);
      expect(
        ((secrets[0]?.Properties.ReplicaRegions ?? []) as { Region: string }[]).map(
          (r) => r.Region,
        ),
      ).toEqual(peers);
      expect(secrets[0]?.DeletionPolicy).toBe('Retain');
      t().hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: { ScheduleExpression: 'rate(30 days)' },
      });
    });

    test('the cluster is in the regional AWS Backup plan, vault encrypted with the regional key', () => {
      t().hasResourceProperties('AWS::Backup::BackupSelection', {
        BackupSelection: {
          Resources: [
            {
              'Fn::Join': [
                '',
                Match.arrayWith([{ Ref: Match.stringLikeRegexp('^AuroraCluster') }]),
              ],
            },
          ],
        },
      });
      t().hasResourceProperties('AWS::Backup::BackupVault', { EncryptionKeyArn: Match.anyValue() });
    });
  });
});
