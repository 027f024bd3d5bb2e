import { type App, Validations } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  HIPAASecurityChecks,
  type NagPack,
  NIST80053R5Checks,
  PCIDSS321Checks,
} from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { MeridianChecks } from './meridian-checks';

/** The rule packs every synth runs. Any unacknowledged finding fails synth. */
export function compliancePacks(app: App): NagPack[] {
  return [
    new AwsSolutionsChecks(app),
    new HIPAASecurityChecks(app),
    new NIST80053R5Checks(app),
    new PCIDSS321Checks(app),
    new MeridianChecks(app),
  ];
}

/** Pack names as cdk-nag 3 expects them in acknowledgement ids (`<pack>::<rule>`). */
export const PACKS = {
  aws: 'AwsSolutions',
  hipaa: 'HIPAA.Security',
  nist: 'NIST.800.53.R5',
  pci: 'PCI.DSS.321',
  /** Control Tower proactive controls (cfn-guard), see ./control-tower-guard.ts. */
  guard: 'cdk-validator-cfnguard',
  /** aws-cdk-lib's built-in CloudFormation template validation. */
  cfn: 'CloudFormation-Validate',
} as const;

export interface Acknowledgement {
  /** Rule id within its pack, e.g. `AwsSolutions-IAM4[Policy::...]` or `HIPAA.Security-LambdaInsideVPC`. */
  readonly rule: string;
  readonly pack: (typeof PACKS)[keyof typeof PACKS] | 'Meridian';
  /** Why the finding is acceptable here: specific to this resource, never generic. */
  readonly reason: string;
}

/** Acknowledges findings on a construct; each carries its own reason (shown in the report). */
export function acknowledge(scope: IConstruct, acks: readonly Acknowledgement[]): void {
  for (const a of acks) {
    if (a.reason.trim().length < 20) {
      throw new Error(`acknowledgement of ${a.rule} on ${scope.node.path} needs a specific reason`);
    }
    Validations.of(scope).acknowledge({ id: `${a.pack}::${a.rule}`, reason: a.reason });
  }
}

/** The three framework packs that share rule names (HIPAA, NIST 800-53 R5, PCI DSS 3.2.1). */
const FRAMEWORK_PACKS = [PACKS.hipaa, PACKS.nist, PACKS.pci] as const;

/** The same rule acknowledged in each framework pack, with one reason. */
export function inAllPacks(rule: string, reason: string): Acknowledgement[] {
  return FRAMEWORK_PACKS.map((pack) => ({ pack, rule: `${pack}-${rule}`, reason }));
}

export function acknowledgeInAllPacks(scope: IConstruct, rule: string, reason: string): void {
  acknowledge(scope, inAllPacks(rule, reason));
}
