import { type CfnResource, Stack } from 'aws-cdk-lib';
import { CfnLogGroup } from 'aws-cdk-lib/aws-logs';
import { NagMessageLevel, NagPack, NagRuleCompliance, type NagRuleResult, NagRules } from 'cdk-nag';

/**
 * Meridian's own rules, run with the cdk-nag packs:
 * - `Meridian-LogGroupEncrypted`: every log group has a customer KMS key and a retention period.
 * - `Meridian-ResidencyTags`: every stack carries the `meridian:jurisdiction` and
 *   `meridian:data-residency` tags (checked on each stack's first resource, once per stack).
 */
export class MeridianChecks extends NagPack {
  override readonly name = 'Meridian';
  private readonly stacksSeen = new Set<Stack>();

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
    const stack = Stack.of(node);
    if (!this.stacksSeen.has(stack)) {
      this.stacksSeen.add(stack);
      this.applyRule({
        ruleSuffixOverride: 'ResidencyTags',
        info: 'The stack does not carry the meridian:jurisdiction and meridian:data-residency tags.',
        explanation:
          'Compliance reviewers and cost reports find a resource’s jurisdiction through these tags; RegionalStack sets them from regions/.',
        level: NagMessageLevel.ERROR,
        rule: residencyTagged,
        node,
      });
    }
  }
}

export function logGroupEncrypted(node: CfnResource): NagRuleResult {
  if (!(node instanceof CfnLogGroup)) return NagRuleCompliance.NOT_APPLICABLE;
  const key = NagRules.resolveIfPrimitive(node, node.kmsKeyId);
  const retention = NagRules.resolveIfPrimitive(node, node.retentionInDays);
  return key && retention ? NagRuleCompliance.COMPLIANT : NagRuleCompliance.NON_COMPLIANT;
}

export function residencyTagged(node: CfnResource): NagRuleResult {
  const tags = Stack.of(node).tags.tagValues();
  return tags['meridian:jurisdiction'] && tags['meridian:data-residency']
    ? NagRuleCompliance.COMPLIANT
    : NagRuleCompliance.NON_COMPLIANT;
}
