import { Template } from 'aws-cdk-lib/assertions';
import {
  type DrillResult,
  runbookFromTemplate,
  runDrill,
  type SynthesizedRunbook,
} from '../../lib/failover/drill/run';
import { DrillWorld } from '../../lib/failover/drill/world';
import { buildApp } from '../support/app';
import { load as loadConfig, MINIMAL } from '../support/fixture';

/** The minimal fixture: cell eu = eu-west-1 (writer) + eu-central-1; cell us = us-east-1 alone. */
const config = loadConfig(MINIMAL);
const built = buildApp(config);
const runbook = (region: string): SynthesizedRunbook =>
  runbookFromTemplate(built.template(region).toJSON() as never, region, '111111111111');

const load = (file: string) => require(file) as { handler: (input: unknown) => Promise<unknown> };

let world: DrillWorld;
afterEach(() => world?.restore());

async function drill(
  region: string,
  input: Record<string, unknown>,
  name = 'drill-1',
  before?: Record<string, () => Promise<void>>,
): Promise<DrillResult> {
  return runDrill(runbook(region), input as never, {
    name,
    load,
    ...(before ? { before } : {}),
    notify: (state, message) => world.notifications.push({ subject: state, message }),
  });
}

describe('failover drill: the synthesized state machine, executed', () => {
  test('the runbook is taken from the template: every Task bound to a step function of it', () => {
    const rb = runbook('eu-central-1');
    expect([...new Set([...rb.tasks.values()].map((t) => t.handler))].sort()).toEqual([
      'failover-assess',
      'failover-choose-target',
      'failover-fence',
      'failover-lock',
      'failover-promote-aurora',
      'failover-promote-cache',
      'failover-record',
      'failover-repoint-search',
      'failover-rollback',
      'failover-shift-traffic',
      'failover-unlock',
      'failover-verify',
      'failover-verify-target',
    ]);
    expect(rb.config.cell.regions.map((r) => r.id)).toEqual(['eu-central-1', 'eu-west-1']);
  });

  test('primary down: promoted to the next eu region, traffic moved, report written', async () => {
    world = new DrillWorld(runbook('eu-central-1').config);
    world.fail('eu-west-1');
    const r = await drill('eu-central-1', { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' });
    expect(r.status).toBe('SUCCEEDED');
    expect(r.output).toMatchObject({ outcome: 'failed over' });
    expect(world.writer).toBe('eu-central-1');
    expect(world.calls).toContain('rds:FailoverGlobalCluster AllowDataLoss=true → eu-central-1');
    expect(world.answer('api.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
    expect(world.answer('eu.example.com.', 'eu-west-1')).toBe('eu-central-1.example.com');
    expect(world.pools.get('pool-eu-west-1')?.enabled).toBe(false);
    const [key, body] = [...world.objects].find(([k]) => k.includes('/failover/')) ?? [];
    expect(key).toMatch(
      /^meridian-prod-eu-central-1-audit-111111111111\/failover\/\d{4}\/\d\d\/\d\d\/drill-1\.json$/,
    );
    expect(JSON.parse(body ?? '{}')).toMatchObject({
      from: 'eu-west-1',
      to: 'eu-central-1',
      action: 'failover',
      rpoSeconds: 1.2,
    });
    expect(world.notifications.map((n) => n.subject)).toEqual(['Notify done']);
  });
});
