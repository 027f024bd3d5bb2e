import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { Construct } from 'constructs';

export interface VpcOnlySecurityGroupProps {
  readonly vpc: ec2.IVpc;
  /** The VPC's range as a literal from regions/, so rule packs and reviewers can read it. */
  readonly vpcCidr: string;
  readonly port: number;
  readonly description: string;
}

/** A security group for a data store: one TCP port from the VPC range, no outbound. */
export function vpcOnlySecurityGroup(
  scope: Construct,
  id: string,
  props: VpcOnlySecurityGroupProps,
): ec2.SecurityGroup {
  const sg = new ec2.SecurityGroup(scope, id, {
    vpc: props.vpc,
    description: props.description,
    allowAllOutbound: false,
  });
  sg.addIngressRule(ec2.Peer.ipv4(props.vpcCidr), ec2.Port.tcp(props.port), 'From this VPC');
  return sg;
}
