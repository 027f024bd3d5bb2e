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

test('lock tables: each MRSC-capable cell in its writer; a one-region cell outside itself', () => {
  built.template('eu-west-1').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    TableName: 'meridian-prod-eu-runbook-lock',
    MultiRegionConsistency: 'STRONG',
    Replicas: Match.arrayWith([
      Match.objectLike({ Region: 'eu-central-1' }),
      Match.objectLike({ Region: 'eu-west-1' }),
    ]),
  });
  built.template('eu-central-1').resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  // us has one region: its lock is not kept in us-east-1 but in the EU set, with a witness there.
  built.template('us-east-1').resourceCountIs('AWS::DynamoDB::GlobalTable', 0);
  built.template('eu-west-1').hasResourceProperties('AWS::DynamoDB::GlobalTable', {
    TableName: 'meridian-prod-us-runbook-lock',
    MultiRegionConsistency: 'STRONG',
    GlobalTableWitnesses: [{ Region: 'eu-west-2' }],
  });
});
