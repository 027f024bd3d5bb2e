import { autoFollowRuleName } from '../../lambda/opensearch-replication/names';
import type { AutoFollowRule } from '../../lambda/opensearch-replication/replication';
import type { ResidencyIndex } from '../../lambda/shared/residency-plan';

/**
 * Index naming on every domain: `<class>-…` for a class's records, `masked-<jurisdiction>-<class>-…`
 * for masked projections written for a jurisdiction.
 */
export function indexPattern(
  dataClass: string,
  mode: 'full' | 'masked',
  targetJurisdiction: string,
): string {
  return mode === 'full' ? `${dataClass}-*` : `masked-${targetJurisdiction}-${dataClass}-*`;
}

export interface FollowRoute {
  /** Region whose domain leads. */
  readonly leader: string;
  readonly rules: readonly AutoFollowRule[];
}

/**
 * What `follower`'s domain replicates, per leader region, from the residency plan: one auto-follow
 * rule per class the plan allows from the leader to the follower, full or masked.
 */
export function followRoutes(index: ResidencyIndex, follower: string): FollowRoute[] {
  const jurisdiction = index.plan.regions.find((r) => r.id === follower)?.jurisdiction ?? '';
  return index.plan.regions
    .filter((r) => r.id !== follower)
    .flatMap((leader): FollowRoute[] => {
      const rules = index.plan.dataClasses.flatMap((c): AutoFollowRule[] => {
        const d = index.decide(c.id, leader.id, follower);
        return d.allowed
          ? [
              {
                name: autoFollowRuleName(leader.id, c.id),
                pattern: indexPattern(c.id, d.mode, jurisdiction),
              },
            ]
          : [];
      });
      return rules.length > 0 ? [{ leader: leader.id, rules }] : [];
    });
}

/** Regions that follow `leader` (its domain must let them read across clusters). */
export function followersOf(index: ResidencyIndex, leader: string): string[] {
  return index.plan.regions
    .map((r) => r.id)
    .filter((f) => f !== leader && followRoutes(index, f).some((r) => r.leader === leader));
}
