import { Duration } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { compactRegion, searchDomainName } from '../../lib/naming';
import { providerTiming } from '../../lib/search/cross-cluster-replication';
import { adminTrustPolicy, searchZoneCount } from '../../lib/search/regional-search';
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

type Resources = ReturnType<Template['findResources']>;
const ofType = (t: Resources, type: string) => Object.entries(t).filter(([, r]) => r.Type === type);
const logicalId = (t: Resources, type: string, prefix: string) => {
  const ids = ofType(t, type)
    .map(([id]) => id)
    .filter((id) => id.startsWith(prefix));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};

describe.each(config.regions.map((r) => [r.id] as const))(
  'cross-cluster replication into %s',
  (id) => {
    const t = () => built.template(id);
    const all = () => t().toJSON().Resources as Resources;
    const resources = () => Object.values(t().findResources('Custom::OpenSearchReplication'));
    const fnId = (prefix: string) => logicalId(all(), 'AWS::Lambda::Function', prefix);
    const roleOf = (fn: string) => all()[fn]?.Properties.Role['Fn::GetAtt'][0];
    const statementsOf = (role: string) =>
      ofType(all(), 'AWS::IAM::Policy')
        .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
        .flatMap(
          ([, p]) =>
            p.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
        );

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
            'Fn::GetAtt': [fnId('SearchReplicationProviderframeworkonEvent'), 'Arn'],
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

    test('served by the Provider framework: onEvent and isComplete wired, polled every 30 s for 30 min', () => {
      const onEvent = fnId('SearchReplicationOnEvent');
      const isComplete = fnId('SearchReplicationIsComplete');
      const framework = all()[fnId('SearchReplicationProviderframeworkonEvent')];
      expect(framework?.Properties.Environment.Variables).toMatchObject({
        USER_ON_EVENT_FUNCTION_ARN: { 'Fn::GetAtt': [onEvent, 'Arn'] },
        USER_IS_COMPLETE_FUNCTION_ARN: { 'Fn::GetAtt': [isComplete, 'Arn'] },
        WAITER_STATE_MACHINE_ARN: {
          Ref: expect.stringMatching(/^SearchReplicationProviderwaiterstatemachine/),
        },
      });
      const [[, waiter]] = ofType(all(), 'AWS::StepFunctions::StateMachine').filter(([k]) =>
        k.startsWith('SearchReplicationProvider'),
      ) as [[string, Resources[string]]];
      const definition = JSON.stringify(waiter.Properties.DefinitionString);
      expect(definition).toContain('\\"IntervalSeconds\\":30');
      expect(definition).toContain('\\"MaxAttempts\\":60');
      expect(waiter.Properties).toMatchObject({
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: { Level: 'ALL' },
      });
      for (const [fn, entry] of [
        [onEvent, 'index.onEvent'],
        [isComplete, 'index.isComplete'],
      ] as const) {
        expect(all()[fn]?.Properties).toMatchObject({
          Handler: entry,
          Timeout: 60,
          Environment: {
            Variables: expect.objectContaining({
              MERIDIAN_SEARCH_ADMIN_ROLE_ARN: {
                'Fn::GetAtt': [expect.stringMatching(/^SearchAdminRole/), 'Arn'],
              },
            }),
          },
        });
      }
    });

    test('the framework’s functions meet Meridian’s function settings (runtime, VPC, ARM64, tracing, concurrency, DLQ, key, log group)', () => {
      const framework = ofType(all(), 'AWS::Lambda::Function').filter(([k]) =>
        k.startsWith('SearchReplicationProviderframework'),
      );
      expect(framework).toHaveLength(3);
      for (const [, f] of framework) {
        expect(f.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          ReservedConcurrentExecutions: expect.any(Number),
          DeadLetterConfig: { TargetArn: expect.anything() },
          KmsKeyArn: expect.anything(),
          VpcConfig: { SubnetIds: expect.any(Array) },
          LoggingConfig: { LogGroup: expect.anything() },
        });
      }
    });

    test('only onEvent creates and deletes connections; both accept only on the plan’s leaders', () => {
      const leaders = followRoutes(index, id).map(
        (r) =>
          `arn:aws:es:${r.leader}:111111111111:domain/${searchDomainName('meridian', 'prod', r.leader)}`,
      );
      const actions = (fn: string) =>
        statementsOf(roleOf(fn)).flatMap((st) => [st.Action].flat() as string[]);
      const onEvent = fnId('SearchReplicationOnEvent');
      const isComplete = fnId('SearchReplicationIsComplete');
      expect(actions(onEvent)).toEqual(
        expect.arrayContaining(['es:CreateOutboundConnection', 'es:DeleteOutboundConnection']),
      );
      expect(
        actions(isComplete)
          .filter((a) => /Outbound|Inbound/.test(a))
          .sort(),
      ).toEqual(['es:AcceptInboundConnection', 'es:DescribeOutboundConnections']);
      for (const fn of [onEvent, isComplete]) {
        const accept = statementsOf(roleOf(fn)).find(
          (st) => st.Action === 'es:AcceptInboundConnection',
        );
        expect(accept?.Resource).toEqual(leaders);
      }
    });

    test('the admin role trusts exactly the onEvent and isComplete roles, the runbook’s search step and the subject-request function: no account root, no other principal', () => {
      const admin = all()[logicalId(all(), 'AWS::IAM::Role', 'SearchAdminRole')];
      const expected = [
        fnId('SearchReplicationOnEvent'),
        fnId('SearchReplicationIsComplete'),
        fnId('SubjectRequestsFunction'),
        fnId('FailoverRepointSearchStep'),
      ].map((fn) => ({ 'Fn::GetAtt': [roleOf(fn), 'Arn'] }));
      expect(admin?.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { AWS: expected }, Action: 'sts:AssumeRole' }],
      });
      expect(JSON.stringify(admin?.Properties.AssumeRolePolicyDocument)).not.toMatch(
        /:root|AccountPrincipal/,
      );
      // And the roles themselves may call sts:AssumeRole on it.
      for (const fn of [
        fnId('SearchReplicationOnEvent'),
        fnId('SearchReplicationIsComplete'),
        fnId('FailoverRepointSearchStep'),
        fnId('SubjectRequestsFunction'),
      ])
        expect(statementsOf(roleOf(fn))).toContainEqual(
          expect.objectContaining({
            Action: 'sts:AssumeRole',
            Resource: { 'Fn::GetAtt': [expect.stringMatching(/^SearchAdminRole/), 'Arn'] },
          }),
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

describe('search admin trust and provider timing', () => {
  test('with no trusted role the admin role is assumable by nobody (explicit deny, no root)', () => {
    expect(adminTrustPolicy([])).toEqual({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: { AWS: '*' }, Action: 'sts:AssumeRole' }],
    });
  });

  test.each([
    [{}, [30, 1800]],
    [{ queryInterval: Duration.seconds(10), totalTimeout: Duration.minutes(60) }, [10, 3600]],
  ])('timing %o → %o', (props, [q, total]) => {
    const timing = providerTiming(props);
    expect([timing.queryInterval.toSeconds(), timing.totalTimeout.toSeconds()]).toEqual([q, total]);
  });

  test.each([
    [{ totalTimeout: Duration.minutes(90) }, 'at most 3600 s'],
    [
      { queryInterval: Duration.seconds(7) },
      'totalTimeout 1800 s must be a multiple of queryInterval 7 s',
    ],
  ])('refuses %o', (props, message) => {
    expect(() => providerTiming(props)).toThrow(message);
  });
});
