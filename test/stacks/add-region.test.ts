import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { computeEdgePlan } from '../../lib/edge/edge-plan';
import { buildApp } from '../support/app';
import { copyRegions, EIGHT_REGIONS, load, write } from '../support/fixture';

/** Adding a region is one new file in regions/ and nothing else. */
describe('adding a region', () => {
  const dir = copyRegions(EIGHT_REGIONS);
  write(
    dir,
    'ca-central-1.yaml',
    [
      'id: ca-central-1',
      'jurisdiction: us',
      'tier: tertiary',
      'failoverPriority: 3',
      'capacity: 40',
      'cidr: 10.12.0.0/16',
      'compliance: [SOC2]',
      'cloudflare:',
      '  regions: []',
      '  latitude: 45.5',
      '  longitude: -73.6',
      '',
    ].join('\n'),
  );
  const before = load(EIGHT_REGIONS);
  const config = load(dir);
  const built = buildApp(config);

  test('gives it a stack of its own, named and placed like the others', () => {
    expect(built.stacks.map((s) => s.stackName)).toEqual(
      [...before.regions.map((r) => r.id), 'ca-central-1'].sort().map((r) => `Meridian-prod-${r}`),
    );
    const t = built.template('ca-central-1');
    t.hasResourceProperties('AWS::EC2::VPC', { CidrBlock: '10.12.0.0/16' });
    t.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    t.resourceCountIs('AWS::EC2::FlowLog', 1);
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { MERIDIAN_REGION: 'ca-central-1' } },
    });
  });

  test('puts it in its jurisdiction’s cell and the residency plan', () => {
    expect(config.plan.cells.find((c) => c.jurisdiction === 'us')?.regions).toEqual([
      'us-east-1',
      'us-west-2',
      'ca-central-1',
    ]);
    const index = new ResidencyIndex(config.plan);
    expect(index.decide('phi', 'us-east-1', 'ca-central-1')).toMatchObject({
      allowed: true,
      mode: 'full',
    });
    expect(index.decide('phi', 'eu-west-1', 'ca-central-1')).toMatchObject({ allowed: false });
  });

  test('gives it Route 53 records and health checks, and a Cloudflare pool', () => {
    const t = built.template('ca-central-1');
    for (const name of ['api.meridian.example.com.', 'us.meridian.example.com.'])
      t.hasResourceProperties('AWS::Route53::RecordSet', {
        Name: name,
        SetIdentifier: 'ca-central-1',
        Region: 'ca-central-1',
      });
    t.hasResourceProperties('AWS::Route53::HealthCheck', {
      HealthCheckConfig: { Type: 'HTTPS_STR_MATCH', ResourcePath: '/health' },
    });
    const plan = computeEdgePlan(config);
    expect(plan.pools.find((p) => p.key === 'ca-central-1')).toMatchObject({
      origin: 'ca-central-1.meridian.example.com',
      latitude: 45.5,
      longitude: -73.6,
    });
    expect(computeEdgePlan(before).pools.some((p) => p.key === 'ca-central-1')).toBe(false);
  });
});
