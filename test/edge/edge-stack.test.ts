import { App } from 'cdktf';
import { computeEdgePlan, type EdgePlan, HOLDING, steer } from '../../lib/edge/edge-plan';
import { EdgeResidencyError, EdgeStack } from '../../lib/edge/edge-stack';
import { EIGHT_REGIONS, load } from '../support/fixture';
import { edgeJson, poolKeyOf } from './support';

const config = load(EIGHT_REGIONS);
const tf = edgeJson(config);
const resources = (type: string) => tf.resource[type] ?? {};
const lb = resources('cloudflare_load_balancer')['load-balancer'] as Record<string, unknown>;
const pools = resources('cloudflare_load_balancer_pool');
const keys = (refs: unknown) => (refs as string[]).map(poolKeyOf);
const table = (t: unknown) =>
  Object.fromEntries(Object.entries(t as Record<string, string[]>).map(([k, v]) => [k, keys(v)]));

/** The steering tables as rendered in the Terraform JSON, not as planned. */
const rendered: EdgePlan = {
  ...computeEdgePlan(config),
  defaultPools: keys(lb.default_pools),
  fallbackPool: poolKeyOf(lb.fallback_pool as string),
  countryPools: table(lb.country_pools),
  regionPools: table(lb.region_pools),
};

describe('Cloudflare edge (Terraform JSON for provider v5)', () => {
  test('pins the Cloudflare provider v5 and writes no credentials', () => {
    expect(tf.terraform).toMatchObject({
      required_providers: { cloudflare: { source: 'cloudflare/cloudflare', version: '5.14.0' } },
      backend: { local: { path: 'terraform.meridian-edge-prod.tfstate' } },
    });
    expect(JSON.stringify(tf)).not.toMatch(/api_token|api_key/);
  });

  test('one HTTPS monitor on /health with the configured timing and the healthy body', () => {
    expect(Object.values(resources('cloudflare_load_balancer_monitor'))).toEqual([
      expect.objectContaining({
        account_id: config.global.cloudflare.accountId,
        type: 'https',
        method: 'GET',
        path: '/health',
        interval: 10,
        timeout: 5,
        retries: 2,
        consecutive_down: 2,
        consecutive_up: 2,
        expected_codes: '200',
        expected_body: '"status":"healthy"',
        allow_insecure: false,
      }),
    ]);
  });

  test.each(config.regions.map((r) => [r.id, r] as const))(
    'pool for %s: its regional origin and Host, location, check regions, the monitor',
    (id, region) => {
      expect(pools[`pool-${id}`]).toMatchObject({
        name: `meridian-prod-${id}`,
        // A Terraform reference, not a JavaScript placeholder.
        monitor: ['$', '{cloudflare_load_balancer_monitor.monitor.id}'].join(''),
        latitude: region.cloudflare.latitude,
        longitude: region.cloudflare.longitude,
        minimum_origins: 1,
        origins: [
          {
            name: id,
            address: `${id}.meridian.example.com`,
            header: { host: [`${id}.meridian.example.com`] },
            enabled: true,
          },
        ],
        ...(region.cloudflare.regions.length ? { check_regions: region.cloudflare.regions } : {}),
      });
    },
  );

  test('a holding pool that serves a page and holds no data', () => {
    expect(pools['pool-holding']).toMatchObject({
      name: 'meridian-prod-holding',
      origins: [{ address: 'maintenance.meridian.example.com' }],
    });
    expect(Object.keys(pools)).toHaveLength(config.regions.length + 1);
  });

  test('a proxied, geo-steered load balancer with cookie affinity and zero-downtime failover', () => {
    expect(lb).toMatchObject({
      zone_id: config.global.cloudflare.zoneId,
      name: 'app.meridian.example.com',
      proxied: true,
      steering_policy: 'geo',
      session_affinity: 'cookie',
      session_affinity_ttl: 1800,
      session_affinity_attributes: { zero_downtime_failover: 'sticky', secure: 'Always' },
      // Residency-bound jurisdictions exist: no retries into pools outside a country's list.
      adaptive_routing: { failover_across_pools: false },
    });
    expect(rendered.fallbackPool).toBe(HOLDING);
  });

  test.each([
    ['DE', ['eu-west-1', 'eu-central-1']],
    ['IE', ['eu-west-1', 'eu-central-1']],
    ['IN', ['ap-south-1', 'ap-south-2']],
    ['AE', ['me-central-1']],
  ])('country pools pin %s to its jurisdiction in failover order', (country, expected) => {
    expect(rendered.countryPools[country]).toEqual(expected);
  });

  test('non-bound countries are not pinned; their Cloudflare regions go to the claiming region first', () => {
    expect(rendered.countryPools.US).toBeUndefined();
    expect(rendered.countryPools.SG).toBeUndefined();
    expect(rendered.regionPools.ENAM?.[0]).toBe('us-east-1');
    expect(rendered.regionPools.WNAM?.[0]).toBe('us-west-2');
    expect(rendered.regionPools.SEAS?.[0]).toBe('ap-southeast-1');
    // Default order: regions of jurisdictions that are not residency-bound first.
    expect(rendered.defaultPools.slice(0, 3)).toEqual(['us-east-1', 'ap-southeast-1', 'us-west-2']);
  });
});

describe('residency at the edge', () => {
  const bound = Object.entries(config.global.jurisdictions).filter(([, j]) => j.residencyBound);
  const jurisdictionOf = new Map(config.regions.map((r) => [r.id, r.jurisdiction]));
  const poolKeys = rendered.pools.map((p) => p.key);
  const cloudflareRegions = Object.keys(rendered.regionPools).concat('XX');

  test('no residency-bound country reaches a pool outside its jurisdiction, whatever is healthy', () => {
    // Every subset of healthy pools (2^9), every bound country, from every Cloudflare region.
    let cases = 0;
    for (let mask = 0; mask < 1 << poolKeys.length; mask++) {
      const healthy = new Set(poolKeys.filter((_, i) => mask & (1 << i)));
      for (const [j, def] of bound)
        for (const country of def.countries)
          for (const cloudflareRegion of cloudflareRegions) {
            const pool = steer(rendered, { country, cloudflareRegion }, healthy);
            cases += 1;
            if (pool !== HOLDING && jurisdictionOf.get(pool) !== j)
              throw new Error(`${country} (${j}) steered to ${pool} with ${[...healthy]} healthy`);
          }
    }
    expect(cases).toBeGreaterThan(100_000);
  });

  test('when its own pools are all down, a bound country gets the holding pool, never a foreign one', () => {
    const allButEu = new Set(poolKeys.filter((k) => jurisdictionOf.get(k) !== 'eu'));
    expect(steer(rendered, { country: 'DE', cloudflareRegion: 'WEU' }, allButEu)).toBe(HOLDING);
    // The same outage does not strand a client that is not residency-bound.
    expect(steer(rendered, { country: 'GB', cloudflareRegion: 'WEU' }, allButEu)).toBe('us-east-1');
  });

  test('the edge module refuses a config whose fallback would break residency', () => {
    const unsafe = {
      ...config,
      global: {
        ...config.global,
        cloudflare: { ...config.global.cloudflare, fallback: 'us-east-1' },
      },
    };
    expect(() => new EdgeStack(new App({ outdir: '/tmp/meridian-unsafe' }), unsafe)).toThrow(
      EdgeResidencyError,
    );
    expect(() => new EdgeStack(new App({ outdir: '/tmp/meridian-unsafe' }), unsafe)).toThrow(
      /DE \(eu\) could reach us-east-1 through its fallback pool/,
    );
  });
});
