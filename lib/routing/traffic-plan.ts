/**
 * How users reach a region, as pure functions of regions/: the DNS names each region serves and
 * how long detection and re-routing take with the configured intervals, thresholds and TTLs.
 * Used by the Route 53 constructs, the Cloudflare edge module, `npm run synth` and the drill.
 */
import type { MeridianConfig } from '../config/load';
import type { GlobalConfig, RegionConfig } from '../config/schema';

export interface RegionNames {
  /** `<region>.<zone>`: weighted records over the region's deployment slots; Cloudflare's origin. */
  readonly regional: string;
  /** `<api>.<zone>`: latency records over every region. */
  readonly api: string;
  /** `<jurisdiction>.<zone>`: latency records over the jurisdiction's regions only. */
  readonly jurisdiction: string;
}

export function routingNames(global: GlobalConfig, region: RegionConfig): RegionNames {
  const zone = global.dns.zoneName;
  return {
    regional: `${region.id}.${zone}`,
    api: `${global.routing.apiName}.${zone}`,
    jurisdiction: `${region.jurisdiction}.${zone}`,
  };
}

export interface FailoverTiming {
  readonly region: string;
  /** Route 53: checkers mark the endpoint unhealthy after `failureThreshold` failed intervals. */
  readonly route53DetectSeconds: number;
  /** Resolvers may keep the old answer for one TTL after DNS changes. */
  readonly route53TtlSeconds: number;
  readonly route53TotalSeconds: number;
  /**
   * Cloudflare: `consecutiveDown` failed probes, the last of which waits `timeout` for each of
   * its `retries + 1` attempts. Proxied traffic moves as soon as the pool is unhealthy.
   */
  readonly cloudflareDetectSeconds: number;
  readonly cloudflareTotalSeconds: number;
}

/** Worst-case detection and re-route time for one region. */
export function failoverTiming(global: GlobalConfig, region: RegionConfig): FailoverTiming {
  const { healthCheckIntervalSeconds: interval, failureThreshold } = region.settings.failover;
  const m = global.cloudflare.monitor;
  const route53DetectSeconds = interval * failureThreshold;
  const cloudflareDetectSeconds =
    m.consecutiveDown * m.intervalSeconds + m.timeoutSeconds * (m.retries + 1);
  return {
    region: region.id,
    route53DetectSeconds,
    route53TtlSeconds: global.routing.ttlSeconds,
    route53TotalSeconds: route53DetectSeconds + global.routing.ttlSeconds,
    cloudflareDetectSeconds,
    cloudflareTotalSeconds: cloudflareDetectSeconds,
  };
}

/**
 * The lines `npm run synth` prints: regions with the same timing share a line; slowest first.
 */
export function describeFailoverTiming(config: MeridianConfig): string[] {
  const { monitor } = config.global.cloudflare;
  const groups = new Map<string, { total: number; regions: string[] }>();
  for (const r of Object.values(config.regions)) {
    const t = failoverTiming(config.global, r);
    const f = r.settings.failover;
    const text = `Route 53 ${t.route53TotalSeconds} s (detect ${f.healthCheckIntervalSeconds} s × ${f.failureThreshold} = ${t.route53DetectSeconds} s, then TTL ${t.route53TtlSeconds} s); Cloudflare ${t.cloudflareTotalSeconds} s (detect ${monitor.consecutiveDown} × ${monitor.intervalSeconds} s + ${monitor.retries + 1} × ${monitor.timeoutSeconds} s timeout; proxied, so no TTL)`;
    const g = groups.get(text) ?? { total: t.route53TotalSeconds, regions: [] };
    g.regions.push(r.id);
    groups.set(text, g);
  }
  return [...groups]
    .sort(([, a], [, b]) => b.total - a.total)
    .map(([text, g]) => `${g.regions.sort().join(', ')}: ${text}`);
}
