/**
 * The only module that imports cdktf. It renders an EdgePlan as Terraform JSON for the Cloudflare
 * provider v5: that JSON (cdktf.out/stacks/<name>/cdk.tf.json) is the contract, so this module can
 * be replaced (cdktf is deprecated) without touching the rest of Meridian.
 */
import { LoadBalancer } from '@cdktf/provider-cloudflare/lib/load-balancer';
import { LoadBalancerMonitor } from '@cdktf/provider-cloudflare/lib/load-balancer-monitor';
import { LoadBalancerPool } from '@cdktf/provider-cloudflare/lib/load-balancer-pool';
import { CloudflareProvider } from '@cdktf/provider-cloudflare/lib/provider';
import { App, LocalBackend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { MeridianConfig } from '../config/load';
import { computeEdgePlan, type EdgePlan, edgeResidencyViolations } from './edge-plan';

export class EdgeResidencyError extends Error {
  constructor(lines: readonly string[]) {
    super(
      `Cloudflare steering would move residency-bound traffic:\n${lines.map((l) => `  ${l}`).join('\n')}`,
    );
    this.name = 'EdgeResidencyError';
  }
}

export const edgeStackName = (config: MeridianConfig) =>
  `${config.global.platform}-edge-${config.env}`;

/**
 * Monitor, one pool per region (plus the holding pool), and a geo-steered, proxied load balancer
 * with cookie session affinity. Refuses to build a plan that could steer a residency-bound country
 * outside its jurisdiction.
 */
export class EdgeStack extends TerraformStack {
  readonly plan: EdgePlan;
  readonly monitor: LoadBalancerMonitor;
  readonly pools: ReadonlyMap<string, LoadBalancerPool>;
  readonly loadBalancer: LoadBalancer;

  constructor(scope: Construct, config: MeridianConfig) {
    super(scope, edgeStackName(config));
    const plan = computeEdgePlan(config);
    const violations = edgeResidencyViolations(config, plan);
    if (violations.length > 0)
      throw new EdgeResidencyError(
        violations.map(
          (v) => `${v.country} (${v.jurisdiction}) could reach ${v.pool} through its ${v.why}`,
        ),
      );
    this.plan = plan;
    const cf = config.global.cloudflare;
    const m = cf.monitor;

    // A relative path keeps the output identical on every machine; replace the backend with
    // your team's remote state.
    new LocalBackend(this, { path: `terraform.${this.node.id}.tfstate` });
    // Credentials come from CLOUDFLARE_API_TOKEN at plan/apply time; none are written here.
    new CloudflareProvider(this, 'cloudflare', {});
    this.monitor = new LoadBalancerMonitor(this, 'monitor', {
      accountId: cf.accountId,
      description: `${config.global.platform}-${config.env} regional health`,
      type: 'https',
      method: 'GET',
      path: config.global.routing.healthPath,
      interval: m.intervalSeconds,
      timeout: m.timeoutSeconds,
      retries: m.retries,
      consecutiveDown: m.consecutiveDown,
      consecutiveUp: m.consecutiveUp,
      expectedCodes: m.expectedCodes,
      expectedBody: m.expectedBody,
      followRedirects: false,
      allowInsecure: false,
    });
    const pools = new Map<string, LoadBalancerPool>();
    for (const p of plan.pools) {
      pools.set(
        p.key,
        new LoadBalancerPool(this, `pool-${p.key}`, {
          accountId: cf.accountId,
          name: p.name,
          description: p.description,
          enabled: true,
          minimumOrigins: 1,
          monitor: this.monitor.id,
          origins: [
            {
              name: p.key,
              address: p.origin,
              enabled: true,
              weight: 1,
              header: { host: [p.origin] },
            },
          ],
          ...(p.latitude !== undefined ? { latitude: p.latitude, longitude: p.longitude } : {}),
          ...(p.checkRegions.length > 0 ? { checkRegions: [...p.checkRegions] } : {}),
          ...(cf.notificationEmail ? { notificationEmail: cf.notificationEmail } : {}),
        }),
      );
    }
    this.pools = pools;
    const id = (key: string) => {
      const pool = pools.get(key);
      if (!pool) throw new Error(`edge plan names unknown pool ${key}`);
      return pool.id;
    };
    const ids = (keys: readonly string[]) => keys.map(id);
    const table = (t: Readonly<Record<string, readonly string[]>>) =>
      Object.fromEntries(Object.entries(t).map(([k, v]) => [k, ids(v)]));

    this.loadBalancer = new LoadBalancer(this, 'load-balancer', {
      zoneId: cf.zoneId,
      name: plan.hostname,
      description: `Meridian ${config.env}: geo steering, residency-bound countries pinned to their jurisdiction`,
      proxied: true,
      steeringPolicy: 'geo',
      defaultPools: ids(plan.defaultPools),
      fallbackPool: id(plan.fallbackPool),
      countryPools: table(plan.countryPools),
      regionPools: table(plan.regionPools),
      sessionAffinity: 'cookie',
      sessionAffinityTtl: cf.sessionAffinityTtlSeconds,
      sessionAffinityAttributes: {
        zeroDowntimeFailover: cf.zeroDowntimeFailover,
        samesite: 'Lax',
        secure: 'Always',
      },
      adaptiveRouting: { failoverAcrossPools: plan.failoverAcrossPools },
    });
    new TerraformOutput(this, 'load_balancer_id', { value: this.loadBalancer.id });
    new TerraformOutput(this, 'pool_ids', {
      value: Object.fromEntries([...pools].map(([k, p]) => [k, p.id])),
    });
  }
}

/** Builds the edge app; `outdir` receives `stacks/<name>/cdk.tf.json`. */
export function buildEdge(config: MeridianConfig, outdir: string): { app: App; stack: EdgeStack } {
  const app = new App({ outdir, hclOutput: false });
  const stack = new EdgeStack(app, config);
  return { app, stack };
}
