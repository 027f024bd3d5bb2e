import { App, Stack, Tags } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { MeridianChecks } from '../../lib/compliance/meridian-checks';
import { acknowledge, PACKS } from '../../lib/compliance/nag';
import { encryptedLogGroup } from '../../lib/observability/encrypted-log-group';

function findings(build: (stack: Stack) => void, tagged = true): string[] {
  const app = new App();
  const stack = new Stack(app, 'S', { env: { account: '111111111111', region: 'eu-west-1' } });
  if (tagged) {
    Tags.of(stack).add('meridian:jurisdiction', 'eu');
    Tags.of(stack).add('meridian:data-residency', 'IE');
  }
  build(stack);
  app.synth();
  const report = new MeridianChecks(app).validateScope(app);
  return report.violations.flatMap((v) =>
    v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath ?? r.resourceLogicalId}`),
  );
}

describe('Meridian rule pack', () => {
  test('LogGroupEncrypted: a log group without a customer key is a finding', () => {
    expect(
      findings((s) => new logs.LogGroup(s, 'Plain', { retention: logs.RetentionDays.ONE_YEAR })),
    ).toEqual([expect.stringMatching(/^Meridian-LogGroupEncrypted S\/Plain\//)]);
  });

  test('LogGroupEncrypted: a log group without retention is a finding', () => {
    expect(
      findings(
        (s) =>
          new logs.LogGroup(s, 'Forever', {
            encryptionKey: new kms.Key(s, 'K', { enableKeyRotation: true }),
            retention: logs.RetentionDays.INFINITE,
          }),
      ),
    ).toEqual([expect.stringMatching(/^Meridian-LogGroupEncrypted S\/Forever\//)]);
  });

  test('LogGroupEncrypted: encryptedLogGroup() passes', () => {
    expect(
      findings((s) =>
        encryptedLogGroup(s, 'Good', {
          key: new kms.Key(s, 'K', { enableKeyRotation: true }),
          retentionDays: 365,
        }),
      ),
    ).toEqual([]);
  });

  test('ResidencyTags: an untagged stack is a finding; a tagged one passes', () => {
    const build = (s: Stack) => new kms.Key(s, 'K', { enableKeyRotation: true });
    expect(findings(build, false)).toEqual([
      expect.stringMatching(/^Meridian-ResidencyTags S\/K\//),
    ]);
    expect(findings(build, true)).toEqual([]);
  });

  test('an acknowledgement needs a specific reason', () => {
    const stack = new Stack(new App(), 'S');
    expect(() =>
      acknowledge(stack, [{ pack: PACKS.aws, rule: 'AwsSolutions-L1', reason: 'ok' }]),
    ).toThrow('acknowledgement of AwsSolutions-L1 on S needs a specific reason');
  });
});
