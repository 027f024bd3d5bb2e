import { CustomResource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { acknowledge, PACKS } from '../compliance/nag';
import type { MeridianFunction } from '../functions/meridian-function';
import type { RegionalSearch } from './regional-search';
import type { FollowRoute } from './search-routes';

export const REPLICATION_RESOURCE_TYPE = 'Custom::OpenSearchReplication';

export interface CrossClusterReplicationProps {
  /** This region's domain: the follower. */
  readonly search: RegionalSearch;
  readonly followerDomainName: string;
  /** Leaders and rules, from the residency plan. */
  readonly routes: readonly FollowRoute[];
  /** Physical domain name of a leader region. */
  readonly leaderDomainName: (region: string) => string;
  /** The opensearch-replication function (MeridianFunction) that serves the custom resources. */
  readonly handler: MeridianFunction;
}

/**
 * One `Custom::OpenSearchReplication` per leader region the residency plan lets this region follow:
 * the handler connects this domain to the leader's and puts one auto-follow rule per allowed class.
 */
export class CrossClusterReplication extends Construct {
  readonly resources: readonly CustomResource[];

  constructor(scope: Construct, id: string, props: CrossClusterReplicationProps) {
    super(scope, id);
    const { region, account, partition } = Stack.of(this);
    const domainArn = (r: string, name: string) =>
      `arn:${partition}:es:${r}:${account}:domain/${name}`;
    const fn = props.handler.function;
    const role = fn.role as iam.IRole;
    props.search.adminRole.grantAssumeRole(role);
    props.search.adminRole.assumeRolePolicy?.addStatements(
      new iam.PolicyStatement({ actions: ['sts:AssumeRole'], principals: [role] }),
    );
    const leaders = props.routes.map((r) => r.leader);
    fn.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['es:CreateOutboundConnection', 'es:DeleteOutboundConnection'],
        resources: [domainArn(region, props.followerDomainName)],
      }),
    );
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['es:DescribeOutboundConnections'], resources: ['*'] }),
    );
    if (leaders.length > 0) {
      fn.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['es:AcceptInboundConnection'],
          resources: leaders.map((l) => domainArn(l, props.leaderDomainName(l))),
        }),
      );
    }
    acknowledge(role, [
      {
        pack: PACKS.aws,
        rule: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Active tracing (xray:Put*) and es:DescribeOutboundConnections have no resource-level permissions; every mutating call is scoped to named domains.',
      },
    ]);

    this.resources = props.routes.map(
      (route) =>
        new CustomResource(this, `From-${route.leader}`, {
          serviceToken: fn.functionArn,
          resourceType: REPLICATION_RESOURCE_TYPE,
          properties: {
            leader: {
              domainName: props.leaderDomainName(route.leader),
              region: route.leader,
              account,
            },
            follower: { domainName: props.followerDomainName, region, account },
            followerEndpoint: props.search.domain.domainEndpoint,
            connectionAlias: `from-${route.leader}`,
            rules: route.rules.map((r) => ({ name: r.name, pattern: r.pattern })),
          },
        }),
    );
  }
}
