import { Match, type Template } from 'aws-cdk-lib/assertions';
import { HEALTHY_MARKER } from '../../lambda/health/report';
import { buildApp } from '../support/app';
import { copyRegions, edit, load, MINIMAL } from '../support/fixture';

/**
 * Route 53 and the regional ingress, on the minimal fixture (eu-west-1 primary, eu-central-1
 * secondary, us-east-1 primary) with one region's slots and thresholds changed in regions/.
 */
const dir = copyRegions(MINIMAL);
edit(
  dir,
  'eu-west-1.yaml',
  'capacity: 100',
  'capacity: 100\nsettings:\n  failover:\n    failureThreshold: 5\n  routing:\n    slots:\n      blue: { weight: 90 }\n      green: { weight: 10, origin: green.eu-west-1.example.com }',
);
const config = load(dir);
const built = buildApp(config);
const zone = config.global.dns.zoneName;
const all = config.regions.map((r) => r.id);

const byType = (t: Template, type: string) => Object.entries(t.findResources(type));
const checkOfType = (t: Template, type: string) =>
  byType(t, 'AWS::Route53::HealthCheck').filter(
    ([, r]) => r.Properties.HealthCheckConfig.Type === type,
  );

describe.each(all)('routing of %s', (id) => {
  const t = () => built.template(id);
  const region = config.regions.find((r) => r.id === id);
  const secondary = region?.tier === 'secondary';

  test('HTTPS string-match health check on the ingress health route: 10 s, threshold, 3+ checker regions', () => {
    t().hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'HTTPS_STR_MATCH',
        FullyQualifiedDomainName: {
          'Fn::Join': [
            '',
            [
              { Ref: Match.stringLikeRegexp('IngressApi') },
              `.execute-api.${id}.`,
              { Ref: 'AWS::URLSuffix' },
            ],
          ],
        },
        ResourcePath: '/health',
        Port: 443,
        EnableSNI: true,
        SearchString: HEALTHY_MARKER,
        RequestInterval: 10,
        FailureThreshold: id === 'eu-west-1' ? 5 : 3,
        Regions: ['us-east-1', 'eu-west-1', 'ap-southeast-1'],
        MeasureLatency: true,
      },
    });
  });

  test('a calculated check that needs every child: endpoint, plus replication lag on a secondary', () => {
    const [calculated] = checkOfType(t(), 'CALCULATED');
    const children = calculated?.[1].Properties.HealthCheckConfig.ChildHealthChecks;
    expect(children).toHaveLength(secondary ? 2 : 1);
    expect(calculated?.[1].Properties.HealthCheckConfig.HealthThreshold).toBe(children.length);
    expect(checkOfType(t(), 'CLOUDWATCH_METRIC')).toHaveLength(secondary ? 1 : 0);
  });

  test('latency records on the api and jurisdiction names, carrying the calculated check', () => {
    const [[calculatedId]] = checkOfType(t(), 'CALCULATED') as [[string, unknown]];
    for (const name of [`api.${zone}.`, `${region?.jurisdiction}.${zone}.`])
      t().hasResourceProperties('AWS::Route53::RecordSet', {
        Name: name,
        Type: 'CNAME',
        HostedZoneId: config.global.dns.hostedZoneId,
        SetIdentifier: id,
        Region: id,
        TTL: '30',
        ResourceRecords: [`${id}.${zone}`],
        HealthCheckId: { Ref: calculatedId },
      });
  });

  test('ingress: GET /health route, logged stage, a custom domain per name, one DNS-validated certificate', () => {
    t().hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health' });
    t().hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AccessLogSettings: { DestinationArn: Match.anyValue(), Format: Match.anyValue() },
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
    });
    t().hasResourceProperties('AWS::CertificateManager::Certificate', {
      DomainName: `${id}.${zone}`,
      SubjectAlternativeNames: [`api.${zone}`, `${region?.jurisdiction}.${zone}`],
      ValidationMethod: 'DNS',
      DomainValidationOptions: Match.arrayWith([
        { DomainName: `${id}.${zone}`, HostedZoneId: config.global.dns.hostedZoneId },
      ]),
    });
    const domains = byType(t(), 'AWS::ApiGatewayV2::DomainName').map(
      ([, d]) => d.Properties.DomainName,
    );
    expect(domains.sort()).toEqual(
      [`${id}.${zone}`, `api.${zone}`, `${region?.jurisdiction}.${zone}`].sort(),
    );
    t().resourceCountIs('AWS::ApiGatewayV2::ApiMapping', 3);
  });

  test('health function: its checks configured, least privilege, no wildcard actions', () => {
    const variables = Match.objectLike({
      MERIDIAN_REGION: id,
      MERIDIAN_BUCKET: Match.anyValue(),
      MERIDIAN_SYNC_QUEUE_URL: Match.anyValue(),
      MERIDIAN_CACHE_ENDPOINT: Match.anyValue(),
      MERIDIAN_AURORA_READER: Match.anyValue(),
      MERIDIAN_AURORA_WRITER: secondary ? Match.absent() : Match.anyValue(),
      MERIDIAN_AURORA_CLUSTER: secondary ? `meridian-prod-${id}` : Match.absent(),
    });
    t().hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: variables },
      Timeout: 5,
    });
    const actions = byType(t(), 'AWS::IAM::Policy')
      .filter(([logicalId]) => logicalId.startsWith('Health'))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
      .flatMap((s: { Action: string | string[] }) => [s.Action].flat());
    expect(actions).toEqual(expect.arrayContaining(['s3:ListBucket', 'sqs:GetQueueAttributes']));
    expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
  });

  test('sync inbound queue: FIFO, encrypted, per-group ordering, redrive to a FIFO DLQ', () => {
    t().hasResourceProperties('AWS::SQS::Queue', {
      QueueName: `meridian-prod-${id}-sync-inbound.fifo`,
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      KmsMasterKeyId: Match.anyValue(),
      RedrivePolicy: { deadLetterTargetArn: Match.anyValue(), maxReceiveCount: 5 },
    });
  });
});

describe('weighted deployment slots from regions/', () => {
  test('eu-west-1 serves its name 90/10 over blue (the ingress) and green (its origin)', () => {
    const t = built.template('eu-west-1');
    t.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `eu-west-1.${zone}.`,
      SetIdentifier: 'eu-west-1-blue',
      Weight: 90,
      ResourceRecords: [
        { 'Fn::GetAtt': [Match.stringLikeRegexp('IngressDomain0'), 'RegionalDomainName'] },
      ],
    });
    t.hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `eu-west-1.${zone}.`,
      SetIdentifier: 'eu-west-1-green',
      Weight: 10,
      ResourceRecords: ['green.eu-west-1.example.com'],
    });
  });

  test('other regions keep the default single blue slot at weight 100', () => {
    built.template('us-east-1').hasResourceProperties('AWS::Route53::RecordSet', {
      Name: `us-east-1.${zone}.`,
      SetIdentifier: 'us-east-1-blue',
      Weight: 100,
    });
  });
});

describe('replication-lag alarm on a secondary', () => {
  test('alarms above the configured lag, notifies the critical topic, feeds the Route 53 check', () => {
    const t = built.template('eu-central-1');
    t.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/RDS',
      MetricName: 'AuroraGlobalDBReplicationLag',
      Dimensions: [{ Name: 'DBClusterIdentifier', Value: 'meridian-prod-eu-central-1' }],
      Threshold: 60_000,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('Alertscritical') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('Alertscritical') }],
    });
    t.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: {
        Type: 'CLOUDWATCH_METRIC',
        AlarmIdentifier: { Region: 'eu-central-1', Name: Match.anyValue() },
        InsufficientDataHealthStatus: 'LastKnownStatus',
      },
    });
  });
});

describe('jurisdiction names', () => {
  test('each jurisdiction name is served only by regions of that jurisdiction', () => {
    const servedBy = new Map<string, string[]>();
    for (const id of all)
      for (const [, r] of byType(built.template(id), 'AWS::Route53::RecordSet')) {
        const name: string = r.Properties.Name;
        servedBy.set(name, [...(servedBy.get(name) ?? []), id]);
      }
    const jurisdictionOf = new Map(config.regions.map((r) => [r.id, r.jurisdiction]));
    for (const j of new Set(config.regions.map((r) => r.jurisdiction))) {
      const served = servedBy.get(`${j}.${zone}.`) ?? [];
      expect(served.length).toBeGreaterThan(0);
      expect(served.every((id) => jurisdictionOf.get(id) === j)).toBe(true);
    }
    expect(servedBy.get(`api.${zone}.`)?.sort()).toEqual([...all].sort());
  });
});
