import { Match } from 'aws-cdk-lib/assertions';
import { availabilityZonesOf, regionalTags } from '../../lib/regional/derivations';
import { buildApp } from '../support/app';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const built = buildApp(config);
const regions = config.regions.map((r) => [r.id, r] as const);

/** Meridian's functions: every function except aws-cdk-lib's own custom-resource providers. */
const meridianFunctions = (t: ReturnType<typeof built.template>) =>
  Object.entries(t.findResources('AWS::Lambda::Function'))
    .filter(([logicalId]) => !logicalId.startsWith('Custom'))
    .map(([, f]) => f);

describe('regional stacks of the eight-regions fixture', () => {
  test('one stack per region, named Meridian-<env>-<region>, with an explicit environment', () => {
    expect(built.stacks.map((s) => [s.stackName, s.region, s.account])).toEqual(
      config.regions.map((r) => [`Meridian-prod-${r.id}`, r.id, '111111111111']),
    );
  });

  describe.each(regions)('%s', (id, region) => {
    const t = () => built.template(id);

    test('customer KMS key with yearly rotation, retained, usable by this region’s CloudWatch Logs only', () => {
      t().hasResource('AWS::KMS::Key', {
        Properties: {
          EnableKeyRotation: true,
          KeyPolicy: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Principal: { Service: `logs.${id}.amazonaws.com` },
                Condition: {
                  ArnLike: {
                    'kms:EncryptionContext:aws:logs:arn': `arn:aws:logs:${id}:111111111111:log-group:*`,
                  },
                },
              }),
            ]),
          },
        },
        DeletionPolicy: 'Retain',
      });
    });

    test('VPC with the configured CIDR; public, private and isolated subnets in every AZ', () => {
      t().hasResourceProperties('AWS::EC2::VPC', { CidrBlock: region.cidr });
      const azs = availabilityZonesOf(region);
      const subnets = Object.values(t().findResources('AWS::EC2::Subnet'));
      expect(subnets).toHaveLength(3 * azs.length);
      expect(new Set(subnets.map((s) => s.Properties.AvailabilityZone))).toEqual(new Set(azs));
      t().resourceCountIs('AWS::EC2::NatGateway', region.settings.network.natGateways);
    });

    test('flow logs of all traffic to a log group encrypted with the regional key, with retention', () => {
      t().hasResourceProperties('AWS::EC2::FlowLog', {
        ResourceType: 'VPC',
        TrafficType: 'ALL',
        LogDestinationType: 'cloud-watch-logs',
      });
      const groups = Object.values(t().findResources('AWS::Logs::LogGroup'));
      expect(groups.length).toBeGreaterThanOrEqual(2);
      for (const g of groups) {
        expect(g.Properties.KmsKeyId).toEqual({
          'Fn::GetAtt': [expect.stringMatching(/^RegionalKey/), 'Arn'],
        });
        expect(g.Properties.RetentionInDays).toBe(region.settings.observability.logRetentionDays);
        expect(g.DeletionPolicy).toBe('Retain');
      }
    });

    test('interface endpoints for every configured service, reachable on 443 from the VPC range only', () => {
      const services = region.settings.network.interfaceEndpoints;
      const endpoints = Object.values(
        t().findResources('AWS::EC2::VPCEndpoint', {
          Properties: { VpcEndpointType: 'Interface' },
        }),
      );
      expect(endpoints.map((e) => e.Properties.ServiceName).sort()).toEqual(
        services.map((s) => `com.amazonaws.${id}.${s}`).sort(),
      );
      for (const e of endpoints) expect(e.Properties.PrivateDnsEnabled).toBe(true);
      const endpointGroups = Object.entries(t().findResources('AWS::EC2::SecurityGroup'))
        .filter(([logicalId]) => /EndpointSecurityGroup/.test(logicalId))
        .map(([, sg]) => sg);
      expect(endpointGroups).toHaveLength(services.length);
      for (const sg of endpointGroups) {
        expect(sg.Properties.SecurityGroupIngress).toEqual([
          expect.objectContaining({
            CidrIp: region.cidr,
            FromPort: 443,
            ToPort: 443,
            IpProtocol: 'tcp',
          }),
        ]);
      }
    });

    test('gateway endpoints for S3 and DynamoDB', () => {
      const gateways = Object.values(
        t().findResources('AWS::EC2::VPCEndpoint', { Properties: { VpcEndpointType: 'Gateway' } }),
      );
      const services = gateways.map(
        (g) => /\.(\w+)"\]\]\}$/.exec(JSON.stringify(g.Properties.ServiceName))?.[1],
      );
      expect(services.sort()).toEqual([...region.settings.network.gatewayEndpoints].sort());
    });

    test('every taggable resource carries the residency tags', () => {
      const expected = regionalTags(config, region);
      const tagged = Object.values(
        t().toJSON().Resources as Record<string, { Properties?: { Tags?: unknown } }>,
      ).filter((r) => Array.isArray(r.Properties?.Tags));
      expect(tagged.length).toBeGreaterThan(20);
      for (const r of tagged) {
        const tags = Object.fromEntries(
          ((r.Properties?.Tags ?? []) as { Key: string; Value: string }[]).map((x) => [
            x.Key,
            x.Value,
          ]),
        );
        expect(tags).toMatchObject({
          'meridian:jurisdiction': region.jurisdiction,
          'meridian:data-residency': expected['meridian:data-residency'],
          'meridian:compliance': expected['meridian:compliance'],
          'meridian:env': 'prod',
          owner: 'platform-engineering',
        });
      }
    });

    test('every Meridian function: Node 22 on ARM64, traced, in private subnets, with DLQ and reserved concurrency', () => {
      const fns = meridianFunctions(t());
      expect(fns.length).toBeGreaterThanOrEqual(1);
      for (const f of fns) {
        expect(f.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          TracingConfig: { Mode: 'Active' },
          ReservedConcurrentExecutions: region.settings.lambda.reservedConcurrency,
          DeadLetterConfig: { TargetArn: expect.anything() },
          KmsKeyArn: expect.anything(),
          VpcConfig: { SubnetIds: expect.any(Array) },
          LoggingConfig: { LogFormat: 'JSON', LogGroup: expect.anything() },
        });
      }
    });

    test('the residency-check function reads the plan from its layer', () => {
      t().hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: {
            MERIDIAN_REGION: id,
            MERIDIAN_RESIDENCY_PLAN_FILE: '/opt/meridian/residency-plan.json',
          },
        },
        Layers: [{ Ref: Match.stringLikeRegexp('^ResidencyPlanLayer') }],
      });
    });

    test('physical names, where set, carry env and region (or jurisdiction) so they never collide', () => {
      const names = [
        'FunctionName',
        'LogGroupName',
        'QueueName',
        'RoleName',
        'TopicName',
        'BucketName',
        'TableName',
        'GroupName',
        'DBClusterIdentifier',
        'GlobalClusterIdentifier',
      ];
      const unique = new RegExp(`-prod-(${id}|${region.jurisdiction})(-|/|$)`);
      // A lock this region keeps for another cell (lib/failover/lock-plan.ts) names that cell.
      const hostedLock = /^meridian-prod-[a-z0-9]+-runbook-lock$/;
      for (const [logicalId, r] of Object.entries(
        t().toJSON().Resources as Record<string, { Properties?: Record<string, unknown> }>,
      )) {
        for (const n of names) {
          const v = r.Properties?.[n];
          if (typeof v === 'string' && !(n === 'TableName' && hostedLock.test(v)))
            expect([logicalId, n, v]).toEqual([logicalId, n, expect.stringMatching(unique)]);
        }
      }
    });
  });

  test.each(config.regions.map((r) => r.id))(
    '%s stays well inside CloudFormation limits (< 80% of 500 resources, 200 outputs, 200 parameters; < 1 MB)',
    (id) => {
      const json = built.template(id).toJSON() as {
        Resources?: object;
        Outputs?: object;
        Parameters?: object;
      };
      expect(Object.keys(json.Resources ?? {}).length).toBeLessThan(0.8 * 500);
      expect(Object.keys(json.Outputs ?? {}).length).toBeLessThan(0.8 * 200);
      expect(Object.keys(json.Parameters ?? {}).length).toBeLessThan(0.8 * 200);
      expect(Buffer.byteLength(JSON.stringify(json))).toBeLessThan(1024 * 1024);
    },
  );

  test('handlers are bundled once: every stack points at the same code asset', () => {
    const codeKeys = config.regions.map((r) => {
      const fns = meridianFunctions(built.template(r.id));
      return fns.map((f) => f.Properties.Code.S3Key);
    });
    // Functions may share a bundle (two entry points, or a provider framework's three functions).
    expect(new Set(codeKeys.flat()).size).toBe(new Set(codeKeys[0]).size);
  });
});
