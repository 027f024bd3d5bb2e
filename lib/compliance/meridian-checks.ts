import { type CfnResource, Stack, TagManager } from 'aws-cdk-lib';
import { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import {
  NagMessageLevel,
  NagPack,
  type NagPackProps,
  NagRuleCompliance,
  type NagRuleResult,
} from 'cdk-nag';
import type { IConstruct } from 'constructs';

/**
 * Meridian's own rules, run with the cdk-nag packs:
 * - `Meridian-LogGroupEncrypted`: every log group has a customer KMS key and a retention period.
 * - `Meridian-ResidencyTags`: every taggable resource carries the `meridian:jurisdiction` and
 *   `meridian:data-residency` tags.
 */
export class MeridianChecks extends NagPack {
  override readonly name = 'Meridian';

  constructor(scope?: IConstruct, props?: NagPackProps) {
    super(scope, props);
    this.packName = 'Meridian';
  }

  protected override checkResource(node: CfnResource): void {
    this.applyRule({
      ruleSuffixOverride: 'LogGroupEncrypted',
      info: 'The log group is not encrypted with a customer KMS key or has no retention period.',
      explanation:
        'Logs hold request data that can include personal data; Meridian encrypts every log group with the regional customer key and keeps it for the configured period. Use encryptedLogGroup() from lib/observability.',
      level: NagMessageLevel.ERROR,
      rule: logGroupEncrypted,
      node,
    });
    this.applyRule({
      ruleSuffixOverride: 'ResidencyTags',
      info: 'The resource does not carry the meridian:jurisdiction and meridian:data-residency tags.',
      explanation:
        'Compliance reviewers and cost reports find a resource’s jurisdiction through these tags; RegionalStack sets them from regions/ on every taggable resource.',
      level: NagMessageLevel.ERROR,
      rule: residencyTagged,
      node,
    });
  }
}

export function logGroupEncrypted(node: CfnResource): NagRuleResult {
  if (!(node instanceof CfnLogGroup)) return NagRuleCompliance.NOT_APPLICABLE;
  // The key is usually a reference (Fn::GetAtt), so resolve without requiring a primitive.
  const key = Stack.of(node).resolve(node.kmsKeyId);
  const retention = Stack.of(node).resolve(node.retentionInDays);
  return key && retention ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

export function residencyTagged(node: CfnResource): NagRuleResult {
  if (!TagManager.isTaggable(node)) return NagRuleCompliance.NOT_APPLICABLE;
  const tags = node.tags.tagValues();
  return tags['meridian:jurisdiction'] && tags['meridian:data-residency']
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
}
