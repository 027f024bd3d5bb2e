import { Stack } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { acknowledge, inAllPacks, PACKS } from './nag';

/**
 * The findings every Meridian state machine's own role raises, acknowledged with their reasons:
 * its Lambda tasks invoke each function by any version (`:*`), execution logging and X-Ray take
 * no resource-level permissions, and CDK writes the role's policy inline. `step` names what the
 * functions are to the machine ("this runbook step", "the relay"); `policy` what the inline policy
 * allows.
 */
export function acknowledgeStateMachineRole(
  machine: sfn.StateMachine,
  functions: readonly lambda.IFunction[],
  step: string,
  policy: string,
): void {
  const stack = Stack.of(machine);
  acknowledge(machine.role, [
    ...functions.map((f) => ({
      pack: PACKS.aws,
      rule: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(f.node.defaultChild as lambda.CfnFunction)}.Arn>:*]`,
      reason: `Step Functions invokes ${step} by any version or alias of that one function (the :* suffix CDK adds).`,
    })),
    {
      pack: PACKS.aws,
      rule: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Execution logging (logs:*LogDelivery*) and X-Ray tracing support no resource-level permissions.',
    },
    ...inAllPacks('IAMNoInlinePolicy', `CDK policy of the state machine’s own role: ${policy}.`),
  ]);
}
