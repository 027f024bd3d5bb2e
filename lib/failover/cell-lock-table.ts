import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { Construct } from 'constructs';
import type { LockPlan } from './lock-plan';

/**
 * A cell's runbook lock table, in the stack of its home region (lib/failover/lock-plan.ts): MRSC
 * replicas and a witness inside one Region set, or one home region. Either way a conditional write
 * is judged by a majority or by the one copy, never by a lone replica, so the lock cannot split.
 * It holds execution names, fencing tokens and region states only: no personal data, which is why
 * it may live in another jurisdiction's region.
 */
export function cellLockTable(
  scope: Construct,
  id: string,
  props: { readonly tableName: string; readonly plan: LockPlan; readonly region: string },
): dynamodb.TableV2 {
  const { plan } = props;
  return new dynamodb.TableV2(scope, id, {
    tableName: props.tableName,
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billing: dynamodb.Billing.onDemand(),
    encryption: dynamodb.TableEncryptionV2.awsManagedKey(),
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    removalPolicy: RemovalPolicy.RETAIN,
    ...(plan.consistency === 'strong'
      ? {
          multiRegionConsistency: dynamodb.MultiRegionConsistency.STRONG,
          replicas: plan.replicas.filter((r) => r !== props.region).map((region) => ({ region })),
          ...(plan.witness ? { witnessRegion: plan.witness } : {}),
        }
      : {}),
  });
}
