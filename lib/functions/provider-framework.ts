/**
 * aws-cdk-lib's `custom_resources.Provider`, held to what Meridian's own functions meet: its props
 * cover VPC, logs and environment key; the rest is set here (runtime, architecture, tracing,
 * concurrency, dead-letter queue) with one acknowledgement per rule the framework cannot meet.
 */
import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as cr from 'aws-cdk-lib/custom-resources';
import { type Acknowledgement, acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import type { FunctionDefaults } from './function-defaults';
import {
  ARCHITECTURE,
  executionRoleAcks,
  PINNED_RUNTIME_ACK,
  RUNTIME,
  type SharedFunctionParts,
} from './meridian-function';

/**
 * The Provider's three framework functions and its waiter state machine, held to what Meridian's
 * own functions meet (its props cover VPC, logs and environment key; the rest is set here): the
 * pinned runtime (not whatever aws-cdk-lib deems latest), ARM64, active tracing, reserved
 * concurrency, the shared DLQ for CloudFormation's asynchronous calls, and X-Ray on the waiter.
 */
export function hardenFramework(
  provider: cr.Provider,
  parts: SharedFunctionParts,
  { key, reservedConcurrency }: Pick<FunctionDefaults, 'key' | 'reservedConcurrency'>,
): void {
  const stack = Stack.of(provider);
  for (const child of provider.node.children) {
    if (!(child instanceof lambda.Function)) continue;
    const cfn = child.node.defaultChild as lambda.CfnFunction;
    cfn.runtime = RUNTIME.name;
    cfn.architectures = [ARCHITECTURE.name];
    cfn.tracingConfig = { mode: lambda.Tracing.ACTIVE };
    cfn.reservedConcurrentExecutions = reservedConcurrency;
    cfn.deadLetterConfig = { targetArn: parts.deadLetterQueue.queueArn };
    // Explicit statements: CDK's queue grant adds wildcard KMS actions (kms:GenerateDataKey*, kms:ReEncrypt*).
    child.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['sqs:SendMessage'],
        resources: [parts.deadLetterQueue.queueArn],
      }),
    );
    child.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [key.keyArn],
      }),
    );
    child.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'],
        resources: ['*'],
      }),
    );
    acknowledge(child, [PINNED_RUNTIME_ACK]);
    if (child.role) acknowledge(child.role, frameworkRoleAcks(stack, provider));
  }
  // Only a provider with an isComplete handler has a waiter.
  const waiter = provider.node.tryFindChild('waiter-state-machine');
  if (!waiter) return;
  const machine = waiter.node.defaultChild as sfn.CfnStateMachine;
  machine.tracingConfiguration = { enabled: true };
  const role = waiter.node.findChild('Role') as iam.Role;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [
        'xray:PutTraceSegments',
        'xray:PutTelemetryRecords',
        'xray:GetSamplingRules',
        'xray:GetSamplingTargets',
      ],
      resources: ['*'],
    }),
  );
  acknowledge(role, [
    ...invokeAcks(stack, provider),
    {
      pack: PACKS.aws,
      rule: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'The waiter’s execution logging (logs:*LogDelivery*) and X-Ray tracing support no resource-level permissions.',
    },
    ...inAllPacks(
      'IAMNoInlinePolicy',
      'CDK policy of the provider waiter’s own role: invoke the isComplete and timeout framework functions, deliver its logs, trace.',
    ),
  ]);
}

/** `lambda:InvokeFunction` on `<function>:*`: CDK's grant covers every version of that one function. */
function invokeAcks(stack: Stack, provider: cr.Provider): Acknowledgement[] {
  return [...provider.node.children, provider.onEventHandler, provider.isCompleteHandler]
    .filter((f): f is lambda.Function => f instanceof lambda.Function)
    .map((f) => ({
      pack: PACKS.aws,
      rule: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason:
        'The provider framework invokes this one function by any version or alias (the :* suffix CDK adds).',
    }));
}

function frameworkRoleAcks(stack: Stack, provider: cr.Provider): Acknowledgement[] {
  return [
    ...invokeAcks(stack, provider),
    ...executionRoleAcks(),
    ...inAllPacks(
      'IAMNoInlinePolicy',
      'CDK policy of the provider framework function’s own role: invoke the onEvent/isComplete functions, start the waiter, write to its DLQ.',
    ),
  ];
}
