import { Match } from 'aws-cdk-lib/assertions';
import { compactRegion, searchDomainName, searchZoneCount } from '../../lib/search/regional-search';
import { buildApp } from '../support/app';
import { load, SHIPPED } from '../support/fixture';

const config = load(SHIPPED);
const built = buildApp(config);

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

  test('access policy: only this account’s IAM principals, on this domain', () => {
    expect(domain()?.Properties.AccessPolicies.Statement).toEqual([
      {
        Effect: 'Allow',
        Principal: { AWS: 'arn:aws:iam::111111111111:root' },
        Action: 'es:ESHttp*',
        Resource: `arn:aws:es:${id}:111111111111:domain/${searchDomainName('meridian', 'prod', id)}/*`,
      },
    ]);
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
