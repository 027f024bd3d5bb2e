/**
 * The order `cdk deploy --all` must follow, from the residency plan. Plain data in, plain data out;
 * `lib/app.ts` turns the result into `Stack.addDependency` (which orders deployment only: it adds
 * no cross-region reference or export).
 */
import type { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { followRoutes } from '../search/search-routes';
import { auditRoutes, objectRoutes } from '../storage/replication-routes';

/**
 * Why `region` deploys after `after`: `cell` - it joins what its cell's primary creates (the Aurora
 * global cluster, the Global Datastore, the lock table's replicas); `objects` - its buckets
 * replicate into `after`'s, which S3 requires to exist; `search` - its domain follows `after`'s.
 */
export interface DeployNeed {
  readonly region: string;
  readonly after: string;
  readonly why: 'cell' | 'objects' | 'search';
}

/** Every "deploy after" the plan implies, one per (region, after, why), sorted. */
export function deployNeeds(index: ResidencyIndex): DeployNeed[] {
  const needs = new Map<string, DeployNeed>();
  const add = (need: DeployNeed) => needs.set(`${need.region} ${need.after} ${need.why}`, need);
  for (const cell of index.plan.cells)
    for (const region of cell.regions)
      if (region !== cell.primary) add({ region, after: cell.primary, why: 'cell' });
  for (const { id: region } of index.plan.regions) {
    for (const route of objectRoutes(index, region))
      add({ region, after: route.to, why: 'objects' });
    for (const to of auditRoutes(index, region)) add({ region, after: to, why: 'objects' });
    for (const { leader } of followRoutes(index, region))
      add({ region, after: leader, why: 'search' });
  }
  return [...needs.values()].sort(byNeed);
}

export interface DeployOrder {
  /** One stack dependency per ordered pair (its first reason): acyclic, every `cell` need in. */
  readonly dependencies: readonly DeployNeed[];
  /**
   * Needs no order can meet: two regions that need each other (both replicate to, or follow, the
   * other) or one that would close a cycle. A first deploy meets them with a second pass.
   */
  readonly unmet: readonly DeployNeed[];
}

/**
 * The needs to encode: every `cell` need first (they cannot form a cycle: each goes from a region
 * to its own cell's primary, which needs no other cell member), then each other need unless an
 * encoded one already meets it, the two regions need each other, or it would close a cycle.
 */
export function deployOrder(needs: readonly DeployNeed[]): DeployOrder {
  const edges = new Map<string, Set<string>>();
  /** `from` deploys after `to`, directly or through others. */
  const after = (from: string, to: string): boolean => {
    const seen = new Set<string>();
    const pending = [from];
    while (pending.length > 0) {
      const r = pending.pop() as string;
      if (r === to) return true;
      if (seen.has(r)) continue;
      seen.add(r);
      pending.push(...(edges.get(r) ?? []));
    }
    return false;
  };
  const pairs = new Set(needs.map((n) => `${n.region} ${n.after}`));
  const dependencies: DeployNeed[] = [];
  const unmet: DeployNeed[] = [];
  const cellFirst = [...needs].sort((a, b) => Number(a.why !== 'cell') - Number(b.why !== 'cell'));
  for (const need of cellFirst) {
    if (need.region !== need.after && after(need.region, need.after)) continue;
    const mutual = need.why !== 'cell' && pairs.has(`${need.after} ${need.region}`);
    if (need.region === need.after || mutual || after(need.after, need.region)) {
      unmet.push(need);
      continue;
    }
    edges.set(need.region, (edges.get(need.region) ?? new Set()).add(need.after));
    dependencies.push(need);
  }
  return { dependencies: dependencies.sort(byNeed), unmet: unmet.sort(byNeed) };
}

function byNeed(a: DeployNeed, b: DeployNeed): number {
  return (
    a.region.localeCompare(b.region) || a.after.localeCompare(b.after) || a.why.localeCompare(b.why)
  );
}
