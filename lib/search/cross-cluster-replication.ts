import { type CfnResource, CustomResource, Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { connectionAlias } from '../../lambda/opensearch-replication/names';
import { acknowledge, PACKS } from '../compliance/nag';
import type { FunctionDefaults } from '../functions/function-defaults';
import {
  functionParts,
  MeridianFunction,
  type SharedFunctionParts,
} from '../functions/meridian-function';
import { hardenFramework } from '../functions/provider-framework';
import type { RegionalSearch } from './regional-search';
import type { FollowRoute } from './search-routes';

export const REPLICATION_RESOURCE_TYPE = 'Custom::OpenSearchReplication';
const HANDLER = 'opensearch-replication';

export interface CrossClusterReplicationProps {
  /** This region's domain: the follower. */
  readonly search: RegionalSearch;
  readonly followerDomainName: string;
  /** Leaders and rules, from the residency plan. */
  readonly routes: readonly FollowRoute[];
  /** Physical domain name of a leader region. */
  readonly leaderDomainName: (region: string) => string;
  /** VPC, key, logs, memory and concurrency of the onEvent/isComplete and framework functions. */
  readonly functions: FunctionDefaults;
  /** How often the provider asks whether the connection is ACTIVE. @default Duration.seconds(30) */
  readonly queryInterval?: Duration;
  /**
   * How long a Create/Update/Delete may take before the resource fails (Provider allows up to an
   * hour; OpenSearch documents minutes for a connection). @default Duration.minutes(30)
   */
  readonly totalTimeout?: Duration;
}

/** Provider defaults: poll every 30 s for up to 30 min; the total must be a multiple of the interval. */
export function providerTiming(
  props: Pick<CrossClusterReplicationProps, 'queryInterval' | 'totalTimeout'>,
): {
  queryInterval: Duration;
  totalTimeout: Duration;
} {
  const queryInterval = props.queryInterval ?? Duration.seconds(30);
  const totalTimeout = props.totalTimeout ?? Duration.minutes(30);
  const [q, t] = [queryInterval.toSeconds(), totalTimeout.toSeconds()];
  if (q < 1 || t > 3600 || t < q || t % q !== 0) {
    throw new Error(
      `CrossClusterReplication: totalTimeout ${t} s must be a multiple of queryInterval ${q} s, at most 3600 s (the Provider's limit); for example queryInterval 30 s, totalTimeout 1800 s`,
    );
  }
  return { queryInterval, totalTimeout };
}

/**
 * One `Custom::OpenSearchReplication` per leader region the residency plan lets this region follow,
 * served by aws-cdk-lib's `custom_resources.Provider`: the onEvent function creates the outbound
 * connection and accepts it on the leader; the isComplete function is polled until the connection
 * is ACTIVE and then puts one auto-follow rule per allowed class. The framework answers
 * CloudFormation and fails the resource at the total timeout. Only these two functions' roles may
 * assume the domain's admin role.
 */
export class CrossClusterReplication extends Construct {
  readonly resources: readonly CustomResource[];
  readonly onEvent: MeridianFunction;
  readonly isComplete: MeridianFunction;
  readonly provider: cr.Provider;

  constructor(scope: Construct, id: string, props: CrossClusterReplicationProps) {
    super(scope, id);
    const timing = providerTiming(props);
    const { region, account, partition } = Stack.of(this);
    const domainArn = (r: string, name: string) =>
      `arn:${partition}:es:${r}:${account}:domain/${name}`;

    const parts = functionParts(new Construct(this, 'Functions'), {
      vpc: props.functions.vpc,
      key: props.functions.key,
      logRetentionDays: props.functions.logRetentionDays,
      purpose: 'OpenSearch replication custom resource',
    });
    keepLogicalIds(parts);
    const fn = (fid: string, entry: 'onEvent' | 'isComplete', description: string) => {
      const f = new MeridianFunction(this, fid, {
        ...props.functions,
        handler: HANDLER,
        description: `Custom resource (cross-cluster replication): ${description}`,
        timeoutSeconds: 60,
        environment: { MERIDIAN_SEARCH_ADMIN_ROLE_ARN: props.search.adminRole.roleArn },
        requiredEnvironment: ['MERIDIAN_SEARCH_ADMIN_ROLE_ARN'],
        shared: parts,
      });
      // One bundle, two entry points (lambda/opensearch-replication/index.ts).
      (f.function.node.defaultChild as lambda.CfnFunction).handler = `index.${entry}`;
      // The auto-follow API is signed as the domain's master user.
      props.search.trustAdmin(f.role);
      return f;
    };
    this.onEvent = fn('OnEvent', 'onEvent', 'create, accept or delete the connection');
    this.isComplete = fn('IsComplete', 'isComplete', 'wait for ACTIVE, then put the rules');

    const follower = [domainArn(region, props.followerDomainName)];
    const leaders = props.routes.map((r) => domainArn(r.leader, props.leaderDomainName(r.leader)));
    this.onEvent.allow(
      'Connect',
      ['es:CreateOutboundConnection', 'es:DeleteOutboundConnection'],
      follower,
    );
    for (const f of [this.onEvent, this.isComplete]) {
      f.allow('Describe', ['es:DescribeOutboundConnections'], ['*']);
      if (leaders.length > 0) f.allow('Accept', ['es:AcceptInboundConnection'], leaders);
      acknowledge(f.role, [
        {
          pack: PACKS.aws,
          rule: 'AwsSolutions-IAM5[Resource::*]',
          reason:
            'Active tracing (xray:Put*) and es:DescribeOutboundConnections have no resource-level permissions; every mutating call is scoped to named domains.',
        },
      ]);
    }

    this.provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.onEvent.function,
      isCompleteHandler: this.isComplete.function,
      ...timing,
      vpc: props.functions.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [parts.securityGroup],
      logGroup: parts.logGroup,
      providerFunctionEnvEncryption: props.functions.key,
      disableWaiterStateMachineLogging: false,
      waiterStateMachineLogOptions: { destination: parts.logGroup, level: sfn.LogLevel.ALL },
    });
    hardenFramework(this.provider, parts, props.functions);

    this.resources = props.routes.map(
      (route) =>
        new CustomResource(this, `From-${route.leader}`, {
          serviceToken: this.provider.serviceToken,
          resourceType: REPLICATION_RESOURCE_TYPE,
          properties: {
            leader: {
              domainName: props.leaderDomainName(route.leader),
              region: route.leader,
              account,
            },
            follower: { domainName: props.followerDomainName, region, account },
            followerEndpoint: props.search.domain.domainEndpoint,
            connectionAlias: connectionAlias(route.leader),
            rules: route.rules.map((r) => ({ name: r.name, pattern: r.pattern })),
          },
        }),
    );
  }
}

/**
 * The log group and DLQ are stateful: they keep the logical ids they had when one function
 * (`OpenSearchReplication` at stack level) served the custom resource, so CloudFormation keeps them.
 */
function keepLogicalIds(parts: SharedFunctionParts): void {
  (parts.logGroup.node.defaultChild as CfnResource).overrideLogicalId(
    'OpenSearchReplicationLogsD7BB070E',
  );
  (parts.deadLetterQueue.node.defaultChild as CfnResource).overrideLogicalId(
    'OpenSearchReplicationDlqE5E37872',
  );
}
