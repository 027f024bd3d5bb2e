import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, acknowledgeInAllPacks, PACKS } from '../compliance/nag';
import type { GatewayEndpointName, InterfaceEndpointName } from '../config/schema';
import { encryptedLogGroup } from '../observability/encrypted-log-group';

export interface RegionalNetworkProps {
  /** The region's IPv4 range, e.g. `10.20.0.0/16`. */
  readonly cidr: string;
  readonly maxAzs: number;
  /** NAT gateways for the private subnets' egress (Cloudflare API, third-party webhooks). */
  readonly natGateways: number;
  /** Interface endpoints, by service name (`com.amazonaws.<region>.<name>`). */
  readonly interfaceEndpoints: readonly InterfaceEndpointName[];
  readonly gatewayEndpoints: readonly GatewayEndpointName[];
  /** Key for the flow-log group. */
  readonly key: kms.IKey;
  readonly logRetentionDays: number;
}

/**
 * The regional VPC: public subnets only for NAT, private subnets (egress through NAT) for
 * Lambdas and interface endpoints, isolated subnets for data stores; all traffic flow-logged to an
 * encrypted log group; endpoints so AWS calls stay on the AWS network.
 */
export class RegionalNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly flowLogGroup: logs.LogGroup;
  readonly interfaceEndpoints: ReadonlyMap<string, ec2.InterfaceVpcEndpoint>;

  constructor(scope: Construct, id: string, props: RegionalNetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(props.cidr),
      maxAzs: props.maxAzs,
      natGateways: props.natGateways,
      subnetConfiguration: [
        { name: 'public', subnetType: ec2.SubnetType.PUBLIC, mapPublicIpOnLaunch: false },
        { name: 'private', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        { name: 'isolated', subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
      ],
      restrictDefaultSecurityGroup: true,
    });
    this.flowLogGroup = encryptedLogGroup(this, 'FlowLogs', {
      key: props.key,
      retentionDays: props.logRetentionDays,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(this.flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    for (const name of props.gatewayEndpoints) {
      this.vpc.addGatewayEndpoint(`${pascal(name)}Endpoint`, {
        service: new ec2.GatewayVpcEndpointAwsService(name),
      });
    }
    const endpoints = new Map<string, ec2.InterfaceVpcEndpoint>();
    for (const name of props.interfaceEndpoints) {
      const endpoint = this.vpc.addInterfaceEndpoint(`${pascal(name)}Endpoint`, {
        service: new ec2.InterfaceVpcEndpointAwsService(name),
        privateDnsEnabled: true,
        subnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
        open: false,
      });
      // The literal range from regions/ (not the VPC's CidrBlock attribute), so reviewers and
      // rule packs can read exactly who may reach the endpoint.
      endpoint.connections.allowFrom(
        ec2.Peer.ipv4(props.cidr),
        ec2.Port.tcp(443),
        'HTTPS from this VPC',
      );
      endpoints.set(name, endpoint);
    }
    this.interfaceEndpoints = endpoints;

    for (const subnet of this.vpc.publicSubnets) {
      const route = subnet.node.tryFindChild('DefaultRoute');
      if (route) {
        acknowledgeInAllPacks(
          route,
          'VPCNoUnrestrictedRouteToIGW',
          'Public subnets hold only the NAT gateways (no instances, no public IPs on launch); their 0.0.0.0/0 route to the internet gateway is what gives the private subnets egress through NAT.',
        );
      }
    }
    // restrictDefaultSecurityGroup's handler is a CDK custom-resource provider at stack level.
    const handler = Stack.of(this)
      .node.tryFindChild('Custom::VpcRestrictDefaultSGCustomResourceProvider')
      ?.node.tryFindChild('Handler');
    if (handler)
      acknowledge(handler, [
        {
          pack: PACKS.guard,
          rule: 'lambda_inside_vpc_check',
          reason:
            "CDK's own custom-resource handler that empties the VPC's default security group at deploy; it runs only during CloudFormation updates, calls only the EC2 API and touches no data.",
        },
      ]);
    acknowledge(this.vpc, [
      {
        pack: PACKS.cfn,
        rule: 'W3010',
        reason:
          'Availability zones come from regions/ (validated to belong to the region) so that synth never has to ask AWS; they are the same zones the account uses.',
      },
    ]);
    acknowledgeInAllPacks(
      this.vpc.node.findChild('FlowLog'),
      'IAMNoInlinePolicy',
      'CDK-generated policy of the flow-log role, scoped to its single log group; inline keeps its lifetime tied to that role.',
    );
  }
}

function pascal(name: string): string {
  return name.replace(/(^|[-_])([a-z])/g, (_, __, c: string) => c.toUpperCase());
}
