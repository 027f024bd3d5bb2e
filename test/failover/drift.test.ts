import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { compareFingerprints, type Fingerprint } from '../../lambda/shared/drift';
import { fingerprintOf } from '../../lib/observability/config-drift';
import { copyRegions, edit, load, MINIMAL } from '../support/fixture';

const prints = (dir = copyRegions(MINIMAL)) => {
  const config = load(dir);
  return config.regions.map((r) => fingerprintOf(config, r, '0.1.0'));
};

describe('config drift', () => {
  test('the same regions/ deployed everywhere: no drift', () => {
    expect(compareFingerprints(prints())).toEqual([]);
  });

  test('a region deployed with another residency plan or failover settings is critical drift', () => {
    const current = prints();
    const dir = copyRegions(MINIMAL);
    edit(dir, 'global.yaml', 'maskedExportTo: [us]', 'maskedExportTo: []');
    edit(dir, 'eu-central-1.yaml', 'capacity:', 'settings:\n  failover:\n    quorum: 3\ncapacity:');
    const stale = prints(dir).find((p) => p.region === 'eu-central-1') as Fingerprint;
    const findings = compareFingerprints(
      current.map((p) => (p.region === 'eu-central-1' ? stale : p)),
    );
    expect(findings.map((f) => [f.severity, f.field, f.regions])).toEqual([
      ['critical', 'plan', ['eu-central-1', 'eu-west-1', 'us-east-1']],
      ['critical', 'failover', ['eu-central-1', 'eu-west-1']],
      ['info', 'settings', ['eu-central-1', 'eu-west-1']],
    ]);
    expect(findings[0]?.detail).toMatch(/^plan differs across regions: /);
  });

  test('a region whose fingerprint cannot be read is critical', () => {
    expect(compareFingerprints(prints().slice(1), ['eu-central-1'])).toEqual([
      expect.objectContaining({
        severity: 'critical',
        field: 'missing',
        regions: ['eu-central-1'],
      }),
    ]);
  });

  test('the handler reads every region and reports', async () => {
    const ssm = mockClient(SSMClient);
    const all = prints();
    try {
      ssm.on(GetParameterCommand).callsFake(async function (this: unknown, input) {
        return { Parameter: { Name: input.Name, Value: JSON.stringify(all.shift()) } };
      });
      Object.assign(process.env, {
        MERIDIAN_REGION: 'eu-west-1',
        MERIDIAN_FINGERPRINT_PARAMETER: '/meridian/prod/fingerprint',
        MERIDIAN_REGIONS: 'eu-central-1,eu-west-1,us-east-1',
      });
      const { handler } =
        require('../../lambda/config-drift/index') as typeof import('../../lambda/config-drift/index');
      expect(await handler()).toEqual({ findings: [] });
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(3);
    } finally {
      ssm.restore();
    }
  });
});
