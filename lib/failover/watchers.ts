/**
 * Who watches whom. Every region is watched by up to WATCHERS other regions of the platform, of
 * any jurisdiction (only health probes and votes cross, no data): first the region that would take
 * over from it (its runbook runs there), then the next regions in a ring of the platform's region
 * ids, so that every region watches about as many as it is watched by. A region is judged down only
 * when a majority of its watchers say so (lambda/shared/failover/votes.ts), so one observer, or one
 * cut network path, is never enough. A region alone in its cell is watched too: its outage pages
 * (there is no region to fail over to).
 */
import type { MeridianConfig } from '../config/load';
import { runnerRegion } from './runner';

/** Watchers per region, where the platform has that many other regions (a majority of 3 is 2). */
export const WATCHERS = 3;

/** The regions watching `region`, the takeover region first; never `region` itself. */
export function watchersOf(config: MeridianConfig, region: string): string[] {
  const ids = config.regions.map((r) => r.id).sort();
  const takeover = runnerRegion(config, region);
  const at = ids.indexOf(region);
  const ring = [...ids.slice(at + 1), ...ids.slice(0, at)];
  const first = takeover !== region ? [takeover] : [];
  return [...first, ...ring.filter((r) => r !== takeover)].slice(0, WATCHERS);
}

/** The regions `watcher` watches, sorted. */
export function watchedBy(config: MeridianConfig, watcher: string): string[] {
  return config.regions
    .map((r) => r.id)
    .filter((p) => p !== watcher && watchersOf(config, p).includes(watcher))
    .sort();
}
