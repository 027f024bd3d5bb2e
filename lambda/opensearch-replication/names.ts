/**
 * The names cross-cluster replication is set up under, shared by the custom resource (which
 * creates them at deploy time), the stacks (which pass them as its properties) and the failover
 * runbook (which finds and removes them at run time). No SDK here: the CDK app imports it.
 */

/**
 * The alias of the connection through which a domain follows `leaderRegion`'s domain: the
 * `leader_alias` of every `_plugins/_replication` call about that leader.
 */
export const connectionAlias = (leaderRegion: string): string => `from-${leaderRegion}`;

/** Auto-follow rule of one data class from `leaderRegion`: `<leader region>-<class>`. */
export const autoFollowRuleName = (leaderRegion: string, dataClass: string): string =>
  `${leaderRegion}-${dataClass}`;

/** Whether a rule name is one of {@link autoFollowRuleName}'s for `leaderRegion`. */
export const isRuleOfLeader = (ruleName: string, leaderRegion: string): boolean =>
  ruleName.startsWith(`${leaderRegion}-`);

/**
 * The security roles every background replication task runs as (OpenSearch's predefined
 * cross-cluster replication roles); `_start` and `_autofollow` require them with fine-grained
 * access control. https://docs.opensearch.org/latest/tuning-your-cluster/replication-plugin/permissions/
 */
export const REPLICATION_ROLES = {
  leader_cluster_role: 'cross_cluster_replication_leader_full_access',
  follower_cluster_role: 'cross_cluster_replication_follower_full_access',
} as const;

/**
 * Whether an auto-follow `pattern` matches an index name: comma-separated patterns, `*` the only
 * wildcard ("The patterns only support wildcard matching",
 * https://docs.opensearch.org/latest/tuning-your-cluster/replication-plugin/auto-follow/).
 */
export function autoFollowPatternMatches(pattern: string, index: string): boolean {
  return pattern.split(',').some((p) => {
    const literal = p
      .trim()
      .split('*')
      .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return new RegExp(`^${literal.join('.*')}$`).test(index);
  });
}
