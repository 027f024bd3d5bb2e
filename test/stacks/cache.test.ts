import { Match } from 'aws-cdk-lib/assertions';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { cacheMembership } from '../../lib/cache/global-datastore-membership';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const index = new ResidencyIndex(config.plan);
const built = buildApp(config);
const classes = config.plan.dataClasses.map((c) => c.id);
const suffix = (j: string) => `meridian-prod-${j}`;

describe('cache Global Datastore membership from the residency plan', () => {
  test.each([
    [
      'us-east-1',
      { role: 'primary', globalId: 'ldgnf-meridian-prod-us', secondaries: ['us-west-2'] },
    ],
    ['us-west-2', { role: 'secondary', globalId: 'ldgnf-meridian-prod-us', primary: 'us-east-1' }],
    [
      'eu-west-1',
      { role: 'primary', globalId: 'gxeiz-meridian-prod-eu', secondaries: ['eu-central-1'] },
    ],
    ['eu-central-1', { role: 'secondary', globalId: 'gxeiz-meridian-prod-eu' }],
    // Hyderabad is not documented to support Global Datastore: India runs two regional caches.
    [
      'ap-south-1',
      { role: 'standalone', why: "no other region of in may join ap-south-1's Global Datastore" },
    ],
    ['ap-south-2', { role: 'standalone' }],
    [
      'me-central-1',
      { role: 'standalone', why: 'me-central-1 is not documented to support Global Datastore' },
    ],
    [
      'ap-southeast-1',
      {
        role: 'standalone',
        why: "no other region of apac may join ap-southeast-1's Global Datastore",
      },
    ],
  ])('%s', (region, expected) => {
    expect(cacheMembership(index, region, classes, suffix)).toMatchObject(expected);
  });
});

describe.each(config.regions.map((r) => [r.id, r] as const))('cache in %s', (id, region) => {
  const t = () => built.template(id);
  const role = cacheMembership(index, id, classes, suffix).role;

  test('multi-AZ with automatic failover, at-rest encryption with the regional key, 15 days of snapshots, retained', () => {
    t().hasResource('AWS::ElastiCache::ReplicationGroup', {
      Properties: Match.objectLike({
        ReplicationGroupId: `meridian-prod-${id}`,
        MultiAZEnabled: true,
        AutomaticFailoverEnabled: true,
        NumCacheClusters: 2,
        AtRestEncryptionEnabled: true,
        KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RegionalKey'), 'Arn'] },
        SnapshotRetentionLimit: 15,
      }),
      DeletionPolicy: 'Retain',
    });
  });

  test('slow and engine logs go to encrypted log groups', () => {
    const group = Object.values(t().findResources('AWS::ElastiCache::ReplicationGroup'))[0];
    expect(
      group?.Properties.LogDeliveryConfigurations.map((l: { LogType: string }) => l.LogType),
    ).toEqual(['slow-log', 'engine-log']);
  });

  test('reachable only from the VPC range on 6379', () => {
    t().hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'Cache: TLS Redis protocol from this VPC only',
      SecurityGroupIngress: [
        { CidrIp: region.cidr, FromPort: 6379, ToPort: 6379, IpProtocol: 'tcp' },
      ],
    });
  });

  test(`${role}: TLS and AUTH where defined, Global Datastore only in the primary`, () => {
    const group = Object.values(t().findResources('AWS::ElastiCache::ReplicationGroup'))[0];
    t().resourceCountIs('AWS::ElastiCache::GlobalReplicationGroup', role === 'primary' ? 1 : 0);
    if (role === 'secondary') {
      expect(group?.Properties.GlobalReplicationGroupId).toMatch(/^[a-z]{5}-meridian-prod-/);
      const authSecrets = Object.values(t().findResources('AWS::SecretsManager::Secret')).filter(
        (x) => String(x.Properties.Description).includes('cache AUTH'),
      );
      expect(authSecrets).toHaveLength(0);
      return;
    }
    expect(group?.Properties).toMatchObject({
      TransitEncryptionEnabled: true,
      TransitEncryptionMode: 'required',
      AuthToken: expect.objectContaining({ 'Fn::Join': expect.anything() }),
      Engine: 'redis',
      CacheNodeType: 'cache.r7g.large',
    });
    if (role === 'primary') {
      t().hasResourceProperties('AWS::ElastiCache::GlobalReplicationGroup', {
        GlobalReplicationGroupIdSuffix: `meridian-prod-${region.jurisdiction}`,
        Members: [
          {
            ReplicationGroupId: `meridian-prod-${id}`,
            ReplicationGroupRegion: id,
            Role: 'PRIMARY',
          },
        ],
      });
    }
  });
});
