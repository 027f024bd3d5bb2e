import { Match } from 'aws-cdk-lib/assertions';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { compactRegion, searchDomainName } from '../../lib/naming';
import { searchZoneCount } from '../../lib/search/regional-search';
import { followersOf, followRoutes } from '../../lib/search/search-routes';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const built = buildApp(config);
const index = new ResidencyIndex(config.plan);

describe('search domain naming and sizing', () => {
  test.each([
    ['us-east-1', 'use1'],
    ['ap-southeast-1', 'apse1'],
    ['eu-central-1', 'euc1'],
    ['me-central-1', 'mec1'],
  ])('%s compacts to %s', (region, compact) => {
    expect(compactRegion(region)).toBe(compact);
  });

  test('names fit OpenSearch’s 28 characters, stay unique per region, and are stable', () => {
    expect(searchDomainName('meridian', 'prod', 'ap-southeast-1')).toBe('meridian-prod-apse1');
    const long = searchDomainName('verylongplatform', 'verylongenvname1', 'ap-southeast-1');
    expect(long.length).toBeLessThanOrEqual(28);
    expect(long).toBe(searchDomainName('verylongplatform', 'verylongenvname1', 'ap-southeast-1'));
    expect(long).not.toBe(
      searchDomainName('verylongplatform', 'verylongenvname1', 'ap-southeast-2'),
    );
  });

  test.each([
    [3, 3, 3],
    [3, 6, 3],
    [3, 4, 2],
    [2, 3, undefined],
    [3, 5, undefined],
  ])('maxAzs %i, %i data nodes → %s zones', (maxAzs, nodes, zones) => {
    expect(searchZoneCount(maxAzs, nodes)).toBe(zones);
  });
});

describe.each(config.regions.map((r) => [r.id, r] as const))('OpenSearch in %s', (id, region) => {
  const t = () => built.template(id);
  const domain = () => Object.values(t().findResources('AWS::OpenSearchService::Domain'))[0];

  test.each([
    [
      'encryption at rest with the regional key',
      { EncryptionAtRestOptions: { Enabled: true, KmsKeyId: Match.anyValue() } },
    ],
    ['node-to-node encryption', { NodeToNodeEncryptionOptions: { Enabled: true } }],
    [
      'HTTPS only, TLS 1.2 with forward secrecy',
      {
        DomainEndpointOptions: {
          EnforceHTTPS: true,
          TLSSecurityPolicy: 'Policy-Min-TLS-1-2-PFS-2023-10',
        },
      },
    ],
    [
      'fine-grained access control with an IAM master role',
      {
        AdvancedSecurityOptions: Match.objectLike({
          Enabled: true,
          MasterUserOptions: { MasterUserARN: Match.anyValue() },
        }),
      },
    ],
    [
      'zone awareness over 3 zones with dedicated masters',
      {
        ClusterConfig: Match.objectLike({
          ZoneAwarenessEnabled: true,
          ZoneAwarenessConfig: { AvailabilityZoneCount: 3 },
          DedicatedMasterEnabled: true,
          DedicatedMasterCount: 3,
          InstanceCount: 3,
        }),
      },
    ],
    ['a per-region physical name', { DomainName: searchDomainName('meridian', 'prod', id) }],
  ])('%s', (_name, props) => {
    t().hasResourceProperties('AWS::OpenSearchService::Domain', props);
  });

  test('in the VPC, reachable on 443 from the VPC range only', () => {
    expect(domain()?.Properties.VPCOptions.SubnetIds).toHaveLength(3);
    t().hasResourceProperties('AWS::EC2::SecurityGroup', {
      GroupDescription: 'OpenSearch: HTTPS from this VPC only',
      SecurityGroupIngress: [
        { CidrIp: region.cidr, FromPort: 443, ToPort: 443, IpProtocol: 'tcp' },
      ],
    });
  });

  test('slow, application and audit logs go to encrypted log groups, allowed by a scoped resource policy', () => {
    const published = domain()?.Properties.LogPublishingOptions;
    expect(Object.keys(published).sort()).toEqual([
      'AUDIT_LOGS',
      'ES_APPLICATION_LOGS',
      'INDEX_SLOW_LOGS',
      'SEARCH_SLOW_LOGS',
    ]);
    for (const opt of Object.values(published) as { Enabled: boolean }[])
      expect(opt.Enabled).toBe(true);
    const policies = Object.values(t().findResources('AWS::Logs::ResourcePolicy'));
    expect(policies).toHaveLength(1);
    // The document joins the four log-group ARNs, so read it as text.
    const text = JSON.stringify(policies[0]?.Properties.PolicyDocument);
    expect(text).toContain('es.amazonaws.com');
    expect(text).toContain('aws:SourceAccount');
    for (const g of ['SlowSearchLogs', 'SlowIndexLogs', 'AppLogs', 'AuditLogs'])
      expect(text).toContain(`Search${g}`);
  });

  test('access policy: this account’s IAM principals on the domain; anyone else only cross-cluster reads', () => {
    const name = searchDomainName('meridian', 'prod', id);
    const [first, ...rest] = domain()?.Properties.AccessPolicies.Statement ?? [];
    expect(first).toEqual({
      Effect: 'Allow',
      Principal: { AWS: 'arn:aws:iam::111111111111:root' },
      Action: 'es:ESHttp*',
      Resource: `arn:aws:es:${id}:111111111111:domain/${name}/*`,
    });
    for (const st of rest) {
      expect(st).toEqual({
        Effect: 'Allow',
        Principal: { AWS: '*' },
        Action: 'es:ESCrossClusterGet',
        Resource: `arn:aws:es:${id}:111111111111:domain/${name}`,
      });
    }
  });

  test('retained, with automatic software updates in the off-peak window; no custom-resource Lambda', () => {
    expect(domain()?.DeletionPolicy).toBe('Retain');
    expect(domain()?.Properties).toMatchObject({
      SoftwareUpdateOptions: { AutoSoftwareUpdateEnabled: true },
      OffPeakWindowOptions: { Enabled: true },
    });
    t().resourceCountIs('Custom::OpenSearchAccessPolicy', 0);
  });
});

describe.each(config.regions.map((r) => [r.id] as const))(
  'cross-cluster replication into %s',
  (id) => {
    const t = () => built.template(id);
    const resources = () => Object.values(t().findResources('Custom::OpenSearchReplication'));

    test('one custom resource per leader the plan allows, with one rule per allowed class', () => {
      const actual = resources().map((r) => [
        r.Properties.leader.region,
        r.Properties.rules.map((x: { pattern: string }) => x.pattern),
      ]);
      expect(actual).toEqual(
        followRoutes(index, id).map((route) => [route.leader, route.rules.map((x) => x.pattern)]),
      );
      for (const r of resources()) {
        expect(r.Properties).toMatchObject({
          ServiceToken: {
            'Fn::GetAtt': [expect.stringMatching(/^OpenSearchReplicationFunction/), 'Arn'],
          },
          leader: {
            domainName: searchDomainName('meridian', 'prod', r.Properties.leader.region),
            account: '111111111111',
          },
          follower: { domainName: searchDomainName('meridian', 'prod', id), region: id },
          connectionAlias: `from-${r.Properties.leader.region}`,
        });
      }
    });

    test('the handler: 15 min timeout, signs as the domain’s admin role, accepts only on its leaders', () => {
      t().hasResourceProperties('AWS::Lambda::Function', {
        Timeout: 900,
        Environment: {
          Variables: Match.objectLike({
            MERIDIAN_SEARCH_ADMIN_ROLE_ARN: {
              'Fn::GetAtt': [Match.stringLikeRegexp('^SearchAdminRole'), 'Arn'],
            },
          }),
        },
      });
      const leaders = followRoutes(index, id).map((r) => r.leader);
      const statements = Object.values(t().findResources('AWS::IAM::Policy')).flatMap(
        (p) =>
          p.Properties.PolicyDocument.Statement as {
            Action: string | string[];
            Resource: unknown;
          }[],
      );
      const accept = statements.find((st) => st.Action === 'es:AcceptInboundConnection');
      expect(accept?.Resource).toEqual(
        leaders.map(
          (l) => `arn:aws:es:${l}:111111111111:domain/${searchDomainName('meridian', 'prod', l)}`,
        ),
      );
      const admin = Object.entries(t().findResources('AWS::IAM::Role')).find(([k]) =>
        k.startsWith('SearchAdminRole'),
      )?.[1];
      expect(JSON.stringify(admin?.Properties.AssumeRolePolicyDocument)).toContain(
        'OpenSearchReplicationFunctionServiceRole',
      );
    });

    test('as a leader, the domain lets exactly its followers read across clusters', () => {
      const statements = Object.values(t().findResources('AWS::OpenSearchService::Domain'))[0]
        ?.Properties.AccessPolicies.Statement;
      const crossCluster = statements.filter(
        (st: { Action: string }) => st.Action === 'es:ESCrossClusterGet',
      );
      expect(crossCluster).toHaveLength(followersOf(index, id).length > 0 ? 1 : 0);
    });
  },
);
