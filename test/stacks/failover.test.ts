import { Match } from 'aws-cdk-lib/assertions';
import { buildApp } from '../support/app';
import { load, MINIMAL } from '../support/fixture';

const config = load(MINIMAL);
const built = buildApp(config);

describe.each(config.regions.map((r) => [r.id, r] as const))(
  'failover runbook in %s',
  (id, region) => {
    const t = () => built.template(id);

    test('a Standard state machine, logged and traced, named per env', () => {
      t().hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineName: `meridian-prod-${id}-failover`,
        StateMachineType: 'STANDARD',
        TracingConfiguration: { Enabled: true },
        LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
      });
    });

    test('one small function per step, all configured with the cell and the lock', () => {
      // The runbook's steps (the region watch and the trigger are failover-* functions too).
      const steps = Object.values(t().findResources('AWS::Lambda::Function')).filter(
        (f) =>
          String(f.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME).startsWith(
            'failover-',
          ) && f.Properties.Environment?.Variables?.MERIDIAN_RUNBOOK !== undefined,
      );
      expect(steps).toHaveLength(13);
      const runbook = JSON.stringify(steps[0]?.Properties.Environment.Variables.MERIDIAN_RUNBOOK);
      expect(runbook).toContain(`meridian-prod-${region.jurisdiction}-runbook-lock`);
      expect(runbook).toContain(`\\"globalCluster\\":\\"meridian-prod-${region.jurisdiction}\\"`);
    });

    test('step roles: no wildcard actions', () => {
      const actions = Object.entries(t().findResources('AWS::IAM::Policy'))
        .filter(([logicalId]) => logicalId.startsWith('Failover'))
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement)
        .flatMap((s: { Action: string | string[] }) => [s.Action].flat());
      expect(actions.length).toBeGreaterThan(10);
      expect(actions.filter((a: string) => a.includes('*'))).toEqual([]);
    });
  },
);

test('the lock table lives in each cell writer, replicated only inside its MRSC Region set', () => {
  built.template('eu-west-1').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    TableName: 'meridian-prod-eu-runbook-lock',
    MultiRegionConsistency: 'STRONG',
    Replicas: Match.arrayWith([
      Match.objectLike({ Region: 'eu-central-1' }),
      Match.objectLike({ Region: 'eu-west-1' }),
    ]),
  });
  built.template('eu-central-1').resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  const us = built.template('us-east-1').findResources('AWS::DynamoDB::GlobalTable');
  expect(
    Object.values(us).map((t) => t.Properties.Replicas.map((r: { Region: string }) => r.Region)),
  ).toEqual([['us-east-1']]);
});
