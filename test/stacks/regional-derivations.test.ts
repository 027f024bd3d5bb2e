import { ResidencyIndex } from '../../lambda/shared/residency-plan';
import type { MeridianConfig } from '../../lib/config/load';
import { MERIDIAN_TAGS, USER_TAGS } from '../../lib/config/rules';
import { Naming } from '../../lib/naming';
import {
  failoverRunbookConfig,
  globalDashboardRegion,
  globalDashboardRegions,
  type HealthTargets,
  healthEnvironment,
  placementOf,
  regionalTags,
  routingSlots,
} from '../../lib/regional/derivations';
import { EIGHT_REGIONS, load } from '../support/fixture';

const config = load(EIGHT_REGIONS);
const index = new ResidencyIndex(config.plan);
const naming = new Naming('meridian', 'prod');
const region = (id: string) => {
  const r = config.regions.find((x) => x.id === id);
  if (!r) throw new Error(`no ${id} in the fixture`);
  return r;
};

describe('Naming: every physical name the stacks derive', () => {
  test('lock table, sync queues, lag alarm and global dashboard', () => {
    expect(naming.failoverLockTable('eu')).toBe('meridian-prod-eu-runbook-lock');
    expect(naming.syncInboundQueue('eu-west-1')).toBe('meridian-prod-eu-west-1-sync-inbound.fifo');
    expect(naming.syncDeadLetterQueue('eu-west-1')).toBe(
      'meridian-prod-eu-west-1-sync-dead-letter.fifo',
    );
    expect(naming.replicationLagAlarm('eu-central-1')).toBe(
      'meridian-prod-eu-central-1-critical-replication-lag',
    );
    expect(naming.globalDashboard).toBe('meridian-prod-global');
  });
});

describe('placementOf', () => {
  test('a cell primary: Aurora primary, Global Datastore primary, creates the cell’s resources', () => {
    const p = placementOf(config, region('eu-west-1'), index, naming);
    expect(p).toMatchObject({
      region: 'eu-west-1',
      jurisdiction: 'eu',
      account: '111111111111',
      aurora: { role: 'primary', jurisdiction: 'eu' },
      cache: { role: 'primary' },
      cellPrimary: true,
      jurisdictionPeers: ['eu-central-1'],
    });
    expect(p.replicaCluster).toBeUndefined();
    expect(p.classes).toEqual(config.plan.dataClasses.map((c) => c.id));
    expect(p.syncTargets).not.toContain('eu-west-1');
    expect(p.syncTargets).not.toContain('eu-central-1');
  });

  test('a secondary: Aurora secondary (its cluster id is checked by lag), joins the datastore', () => {
    const p = placementOf(config, region('eu-central-1'), index, naming);
    expect(p).toMatchObject({
      aurora: { role: 'secondary', jurisdiction: 'eu' },
      cache: { role: 'secondary', primary: 'eu-west-1' },
      replicaCluster: 'meridian-prod-eu-central-1',
      cellPrimary: false,
      jurisdictionPeers: ['eu-west-1'],
    });
  });

  test('routes are the residency plan’s: nothing of a jurisdiction class leaves its cell in full', () => {
    const p = placementOf(config, region('eu-west-1'), index, naming);
    const outside = p.objectRoutes.filter((r) => !['eu-central-1'].includes(r.to));
    expect(outside.length).toBeGreaterThan(0);
    for (const r of outside) expect(r.dataClass === 'pii' && r.mode === 'full').toBe(false);
    expect(p.auditTargets).toEqual(['eu-central-1']);
    expect(p.searchLeaders.map((l) => l.leader)).toContain('eu-central-1');
    expect(p.searchFollowers).toContain('eu-central-1');
  });
});

describe('failoverRunbookConfig', () => {
  test('names by convention, the cell’s regions, the datastore members only where they exist', () => {
    const c = failoverRunbookConfig(config, region('eu-central-1'), index, naming);
    expect(c).toMatchObject({
      region: 'eu-central-1',
      account: '111111111111',
      prefix: 'meridian-prod',
      lockTable: 'meridian-prod-eu-runbook-lock',
      lockRegions: ['eu-central-1', 'eu-west-1'],
      auditBucket: 'meridian-prod-eu-central-1-audit-111111111111',
      cloudflare: { tokenSecretArn: '' },
    });
    expect(c.cell.globalCluster).toBe('meridian-prod-eu');
    expect(c.cell.regions.map((r) => r.id)).toEqual(['eu-central-1', 'eu-west-1']);
    expect(c.cell.datastore?.members).toEqual({
      'eu-central-1': 'meridian-prod-eu-central-1',
      'eu-west-1': 'meridian-prod-eu-west-1',
    });
  });

  test('a cell whose caches are regional has no datastore', () => {
    const c = failoverRunbookConfig(config, region('ap-south-1'), index, naming);
    expect(c.cell.datastore).toBeUndefined();
    expect(c.cell.regions.map((r) => r.id)).toEqual(['ap-south-1', 'ap-south-2']);
  });
});

describe('global dashboard', () => {
  test('hosted in us-east-1 when it is ours, else in the first region by id', () => {
    expect(globalDashboardRegion(config)).toBe('us-east-1');
    const withoutUs: MeridianConfig = {
      ...config,
      regions: config.regions.filter((r) => r.id !== 'us-east-1'),
    };
    expect(globalDashboardRegion(withoutUs)).toBe('ap-south-1');
  });

  test('every region, dead letters of writers and lag of secondaries only', () => {
    const rows = globalDashboardRegions(config, index, naming, 'aws');
    expect(rows.map((r) => r.region)).toEqual(config.regions.map((r) => r.id));
    const eu = rows.find((r) => r.region === 'eu-west-1');
    const fra = rows.find((r) => r.region === 'eu-central-1');
    expect(eu).toEqual({
      region: 'eu-west-1',
      jurisdiction: 'eu',
      auroraSecondaryCluster: undefined,
      cacheReplicationGroupId: 'meridian-prod-eu-west-1',
      syncDeadLetterQueue: 'meridian-prod-eu-west-1-sync-dead-letter.fifo',
      failoverStateMachineArn:
        'arn:aws:states:eu-west-1:111111111111:stateMachine:meridian-prod-eu-west-1-failover',
    });
    expect(fra?.syncDeadLetterQueue).toBeUndefined();
    expect(fra?.auroraSecondaryCluster).toBe('meridian-prod-eu-central-1');
  });
});

describe('healthEnvironment', () => {
  const health = region('eu-west-1').settings.health;
  const base: HealthTargets = {
    region: 'eu-west-1',
    cacheEndpoint: 'cache:6379',
    bucket: 'data-bucket',
    syncQueueUrl: 'https://sqs/queue',
  };
  const aurora = {
    writer: 'writer:5432',
    reader: 'reader:5432',
    fenceParameter: '/m-prod/eu-west-1/writer-fence',
  };

  test('a primary checks its writer and readers, no lag', () => {
    const env = healthEnvironment(health, { ...base, aurora });
    expect(env).toMatchObject({
      MERIDIAN_REGION: 'eu-west-1',
      MERIDIAN_AURORA_WRITER: 'writer:5432',
      MERIDIAN_AURORA_READER: 'reader:5432',
      MERIDIAN_FENCE_PARAMETER: '/m-prod/eu-west-1/writer-fence',
      MERIDIAN_CACHE_ENDPOINT: 'cache:6379',
      MERIDIAN_BUCKET: 'data-bucket',
      MERIDIAN_SYNC_QUEUE_URL: 'https://sqs/queue',
      MERIDIAN_HEALTH_TIMEOUT_MS: String(health.timeoutMs),
      MERIDIAN_MAX_QUEUE_DEPTH: String(health.maxQueueDepth),
    });
    expect(env.MERIDIAN_AURORA_CLUSTER).toBeUndefined();
  });

  test('a secondary checks its readers and its lag, never the writer it does not have', () => {
    const env = healthEnvironment(health, { ...base, aurora, replicaCluster: 'c-2' });
    expect(env.MERIDIAN_AURORA_WRITER).toBeUndefined();
    expect(env.MERIDIAN_AURORA_READER).toBe('reader:5432');
    expect(env.MERIDIAN_AURORA_CLUSTER).toBe('c-2');
    // Its sign too: a secondary promoted later fences and unfences like any writer.
    expect(env.MERIDIAN_FENCE_PARAMETER).toBe('/m-prod/eu-west-1/writer-fence');
  });

  test('a region without Aurora checks no database', () => {
    const env = healthEnvironment(health, base);
    expect(Object.keys(env).filter((k) => k.startsWith('MERIDIAN_AURORA'))).toEqual([]);
    expect(env.MERIDIAN_FENCE_PARAMETER).toBeUndefined();
  });
});

test('routingSlots: a slot’s own origin, else the region’s ingress', () => {
  expect(
    routingSlots({ blue: { weight: 90 }, green: { weight: 10, origin: 'g.example' } }, 'ingress'),
  ).toEqual([
    { name: 'blue', weight: 90, target: 'ingress' },
    { name: 'green', weight: 10, target: 'g.example' },
  ]);
});

describe('regionalTags', () => {
  test("Meridian's own tags are the count the config's tag budget leaves room for", () => {
    const bare: MeridianConfig = { ...config, global: { ...config.global, tags: {} } };
    const own = Object.keys(regionalTags(bare, region('eu-west-1')));
    expect(own.every((k) => k.startsWith('meridian:'))).toBe(true);
    expect(own).toHaveLength(MERIDIAN_TAGS);
    expect(USER_TAGS + MERIDIAN_TAGS).toBe(50);
  });
});
