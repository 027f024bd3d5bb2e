/**
 * The Cloudflare edge as data, computed from regions/: pools, geo steering tables and the
 * fallback, plus a model of how Cloudflare's geo steering picks a pool, so tests can prove that no
 * residency-bound country is ever steered outside its jurisdiction. No cdktf here: the cdktf
 * module (./edge-stack.ts) only renders this plan.
 */

import type { MeridianConfig } from '../config/load';
import type { RegionConfig } from '../config/schema';
import { Naming } from '../naming';
import { routingNames } from '../routing/traffic-plan';

/** Key of the pool that serves a holding page and holds no data. */
export const HOLDING = 'holding';

export interface PoolPlan {
  /** Region id, or `holding`. */
  readonly key: string;
  readonly name: string;
  readonly description: string;
  /** Jurisdiction whose data the pool's origin holds; none for the holding pool. */
  readonly jurisdiction?: string;
  /** Origin host name; also sent as the Host header. */
  readonly origin: string;
  readonly latitude?: number;
  readonly longitude?: number;
  /** Cloudflare regions the monitor probes from. */
  readonly checkRegions: readonly string[];
}

export interface EdgePlan {
  readonly hostname: string;
  readonly pools: readonly PoolPlan[];
  /** Pool keys, in failover order. */
  readonly defaultPools: readonly string[];
  readonly fallbackPool: string;
  /** Country (ISO alpha-2) → pool keys: residency-bound countries, pinned to their jurisdiction. */
  readonly countryPools: Readonly<Record<string, readonly string[]>>;
  /** Cloudflare region code → pool keys, for every other client. */
  readonly regionPools: Readonly<Record<string, readonly string[]>>;
  /**
   * Zero-downtime failover to another pool: on only when no jurisdiction is residency-bound,
   * because Cloudflare may then retry a request against a pool outside the client's country list.
   */
  readonly failoverAcrossPools: boolean;
}

/** Failover order: priority, then the larger region, then id (stable). */
const byPriority = (a: RegionConfig, b: RegionConfig) =>
  a.failoverPriority - b.failoverPriority || b.capacity - a.capacity || a.id.localeCompare(b.id);

/** Great-circle distance in km between two regions' Cloudflare coordinates. */
export function distanceKm(a: RegionConfig, b: RegionConfig): number {
  const rad = Math.PI / 180;
  const [p1, p2] = [a.cloudflare.latitude * rad, b.cloudflare.latitude * rad];
  const dp = p2 - p1;
  const dl = (b.cloudflare.longitude - a.cloudflare.longitude) * rad;
  const h = Math.sin(dp / 2) ** 2 + Math.cos(p1) * Math.cos(p2) * Math.sin(dl / 2) ** 2;
  return 2 * 6371 * Math.asin(Math.sqrt(h));
}
const unique = (xs: readonly string[]) => [...new Set(xs)];

export function computeEdgePlan(config: MeridianConfig): EdgePlan {
  const { global } = config;
  const cf = global.cloudflare;
  const naming = new Naming(global.platform, config.env);
  const regions = Object.values(config.regions).sort(byPriority);
  const bound = (j: string) => global.jurisdictions[j]?.residencyBound === true;
  const inJurisdiction = (j: string) =>
    regions.filter((r) => r.jurisdiction === j).map((r) => r.id);

  const pools: PoolPlan[] = regions.map((r) => ({
    key: r.id,
    name: naming.edgePool(r.id),
    description: `Meridian ${config.env} ${r.id} (${r.jurisdiction}, ${r.tier})`,
    jurisdiction: r.jurisdiction,
    origin: routingNames(global, r).regional,
    latitude: r.cloudflare.latitude,
    longitude: r.cloudflare.longitude,
    checkRegions: r.cloudflare.regions,
  }));
  if (cf.fallback === HOLDING)
    pools.push({
      key: HOLDING,
      name: naming.holdingPool,
      description: `Meridian ${config.env} holding page: serves no data, safe for every country`,
      origin: cf.holdingOrigin ?? `maintenance.${global.dns.zoneName}`,
      checkRegions: [],
    });

  const countryPools: Record<string, string[]> = {};
  for (const [j, def] of Object.entries(global.jurisdictions)) {
    if (!def.residencyBound) continue;
    for (const country of def.countries) countryPools[country] = inJurisdiction(j);
  }

  // Every other client: the regions that claim its Cloudflare region, then their jurisdictions'
  // other regions (DR), then every other region, nearest first. Unclaimed areas: regions of
  // jurisdictions that are not residency-bound first, in failover order.
  const open = regions.filter((r) => !bound(r.jurisdiction)).map((r) => r.id);
  const defaultPools = unique([...open, ...regions.map((r) => r.id)]);
  const regionPools: Record<string, string[]> = {};
  for (const code of unique(regions.flatMap((r) => r.cloudflare.regions)).sort()) {
    const claim = regions.filter((r) => r.cloudflare.regions.includes(code as never));
    const home = claim[0] as RegionConfig;
    const nearest = [...regions].sort((a, b) => distanceKm(home, a) - distanceKm(home, b));
    regionPools[code] = unique([
      ...claim.map((r) => r.id),
      ...claim.flatMap((r) => inJurisdiction(r.jurisdiction)),
      ...nearest.map((r) => r.id),
    ]);
  }

  return {
    hostname: cf.hostname,
    pools,
    defaultPools,
    fallbackPool: cf.fallback,
    countryPools,
    regionPools,
    failoverAcrossPools: !Object.values(global.jurisdictions).some((j) => j.residencyBound),
  };
}

export interface Client {
  /** ISO alpha-2 country of the client. */
  readonly country: string;
  /** Cloudflare region of the data center that answers it. */
  readonly cloudflareRegion: string;
}

/**
 * Which pool Cloudflare geo steering sends a client to (no PoP pools are used): the country's
 * list if it has one, else its region's list, else the default pools; the first healthy pool of
 * that list, else the fallback pool.
 */
export function steer(plan: EdgePlan, client: Client, healthy: ReadonlySet<string>): string {
  const candidates =
    plan.countryPools[client.country] ??
    plan.regionPools[client.cloudflareRegion] ??
    plan.defaultPools;
  return candidates.find((p) => healthy.has(p)) ?? plan.fallbackPool;
}

export interface EdgeViolation {
  readonly country: string;
  readonly jurisdiction: string;
  readonly pool: string;
  readonly why: string;
}

/**
 * Every way a residency-bound country could reach a pool outside its jurisdiction: a missing
 * country mapping, a foreign pool in its list, or a foreign fallback. Empty means safe whatever
 * the health of any pool.
 */
export function edgeResidencyViolations(config: MeridianConfig, plan: EdgePlan): EdgeViolation[] {
  const jurisdictionOf = new Map(plan.pools.map((p) => [p.key, p.jurisdiction]));
  const found: EdgeViolation[] = [];
  for (const [j, def] of Object.entries(config.global.jurisdictions)) {
    if (!def.residencyBound) continue;
    for (const country of def.countries) {
      const list = plan.countryPools[country];
      if (!list || list.length === 0) {
        found.push({ country, jurisdiction: j, pool: '-', why: 'no country pools' });
        continue;
      }
      for (const pool of [...list, plan.fallbackPool]) {
        const pj = jurisdictionOf.get(pool);
        if (pool !== HOLDING && pj !== j)
          found.push({
            country,
            jurisdiction: j,
            pool,
            why: pool === plan.fallbackPool ? 'fallback pool' : 'country pool',
          });
      }
    }
  }
  return found;
}
