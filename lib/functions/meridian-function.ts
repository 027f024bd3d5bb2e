import * as path from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct, type IConstruct } from 'constructs';
import { type Acknowledgement, acknowledge, inAllPacks, PACKS } from '../compliance/nag';
import { encryptedLogGroup } from '../observability/encrypted-log-group';
import { bundleHandlers, ESBUILD_OPTIONS, LAMBDA_DIR } from './bundle';

/** Lambda limits every Meridian function is held to. */
export const RUNTIME = lambda.Runtime.NODEJS_22_X;
export const ARCHITECTURE = lambda.Architecture.ARM_64;
const ENV_LIMIT_BYTES = 4096;

/**
 * How handler code is packaged: `once` (default) bundles every handler once per synth and shares
 * the asset between regional stacks; `per-stack` bundles for each function like NodejsFunction
 * does, and exists only as the baseline `npm run bench` compares against.
 */
export type BundlingMode = 'once' | 'per-stack';

export interface MeridianFunctionProps {
  /** Folder under `lambda/` holding the handler's `index.ts`. */
  readonly handler: string;
  readonly description: string;
  readonly vpc: ec2.IVpc;
  /** The regional key: encrypts the log group, the DLQ and the environment. */
  readonly key: kms.IKey;
  readonly logRetentionDays: number;
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly reservedConcurrency: number;
  /** @default - no environment beyond Powertools' settings */
  readonly environment?: Readonly<Record<string, string>>;
  /** Variables the handler reads at start; synth fails if any is missing or empty. @default - none */
  readonly requiredEnvironment?: readonly string[];
  /** @default - none */
  readonly layers?: readonly lambda.ILayerVersion[];
  /** @default 'once' */
  readonly bundling?: BundlingMode;
  /**
   * A physical name, for a function another region invokes by name (Naming).
   * @default - a name CloudFormation generates
   */
  readonly functionName?: string;
  /**
   * Log group, security group and async dead-letter queue shared by a family of small functions
   * (the runbook's steps), instead of one of each per function.
   * @default - the function gets its own
   */
  readonly shared?: SharedFunctionParts;
}

export interface SharedFunctionParts {
  readonly logGroup: logs.ILogGroup;
  readonly securityGroup: ec2.ISecurityGroup;
  readonly deadLetterQueue: sqs.IQueue;
}

/**
 * Creates a function's log group, security group and async DLQ in `c` (children `Logs`,
 * `SecurityGroup`, `Dlq`); pass a dedicated construct to share them (MeridianFunctionProps.shared).
 */
export function functionParts(
  c: Construct,
  props: { vpc: ec2.IVpc; key: kms.IKey; logRetentionDays: number; purpose: string },
): SharedFunctionParts {
  const parts = {
    logGroup: encryptedLogGroup(c, 'Logs', {
      key: props.key,
      retentionDays: props.logRetentionDays,
    }),
    securityGroup: new ec2.SecurityGroup(c, 'SecurityGroup', {
      vpc: props.vpc,
      description: `${props.purpose} Lambda: no inbound, outbound to endpoints and NAT`,
      allowAllOutbound: true,
    }),
    deadLetterQueue: new sqs.Queue(c, 'Dlq', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    }),
  };
  acknowledgeDeadLetterQueue(
    parts.deadLetterQueue,
    `the failed async invocations of ${props.purpose}`,
  );
  return parts;
}

/** Control Tower CT.SQS.PR.1 on a queue that is itself the last stop for failed messages. */
export function acknowledgeDeadLetterQueue(queue: IConstruct, of: string): void {
  acknowledge(queue, [
    {
      pack: PACKS.guard,
      rule: 'sqs_dlq_check',
      reason: `This queue is the dead-letter queue of ${of}: a dead-letter queue of its own would have no consumer; its depth raises an alarm and messages stay 14 days.`,
    },
  ]);
}

/** {@link RUNTIME} is pinned, not the latest: acknowledged on every function that runs it. */
export const PINNED_RUNTIME_ACK: Acknowledgement = {
  pack: PACKS.aws,
  rule: 'AwsSolutions-L1',
  reason:
    'Node.js 22 is the runtime Meridian pins and tests its bundles against (design card); runtime upgrades are made deliberately for every function at once.',
};

/**
 * What a Lambda execution role in the private subnets with active tracing needs acknowledged: the
 * two AWS-managed policies Lambda attaches and X-Ray's resource-less actions. Also used for
 * aws-cdk-lib's provider framework functions, which Meridian configures the same way.
 */
export function executionRoleAcks(): Acknowledgement[] {
  return [
    {
      pack: PACKS.aws,
      rule: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason:
        'AWS-maintained minimal logging policy for Lambda; the function logs only to its own KMS-encrypted log group.',
    },
    {
      pack: PACKS.aws,
      rule: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason:
        'AWS-maintained minimal ENI policy Lambda needs to run in the private subnets (ec2:*NetworkInterface* has no resource-level scoping).',
    },
    {
      pack: PACKS.aws,
      rule: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    },
  ];
}

/**
 * The one way Meridian builds a Lambda: Node 22 on ARM64, shared esbuild bundle, active tracing,
 * private subnets, an encrypted log group with the configured retention, an encrypted DLQ for
 * failed async invocations, reserved concurrency, and an environment checked at synth.
 */
export class MeridianFunction extends Construct {
  readonly function: lambda.Function;
  readonly logGroup: logs.ILogGroup;
  readonly deadLetterQueue: sqs.IQueue;
  readonly securityGroup: ec2.ISecurityGroup;

  constructor(scope: Construct, id: string, props: MeridianFunctionProps) {
    super(scope, id);
    const environment = { POWERTOOLS_SERVICE_NAME: props.handler, ...props.environment };
    checkEnvironment(props.handler, environment, props.requiredEnvironment ?? []);

    const parts =
      props.shared ??
      functionParts(this, {
        vpc: props.vpc,
        key: props.key,
        logRetentionDays: props.logRetentionDays,
        purpose: props.handler,
      });
    this.logGroup = parts.logGroup;
    this.deadLetterQueue = parts.deadLetterQueue;
    this.securityGroup = parts.securityGroup;

    const common = {
      description: props.description,
      ...(props.functionName ? { functionName: props.functionName } : {}),
      runtime: RUNTIME,
      architecture: ARCHITECTURE,
      memorySize: props.memoryMb,
      timeout: Duration.seconds(props.timeoutSeconds),
      tracing: lambda.Tracing.ACTIVE,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      environment,
      environmentEncryption: props.key,
      deadLetterQueue: this.deadLetterQueue,
      reservedConcurrentExecutions: props.reservedConcurrency,
      vpc: props.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      securityGroups: [this.securityGroup],
      layers: props.layers ? [...props.layers] : undefined,
    } satisfies Partial<lambda.FunctionProps>;

    this.function =
      props.bundling === 'per-stack'
        ? new nodejs.NodejsFunction(this, 'Function', {
            ...common,
            entry: path.join(LAMBDA_DIR, props.handler, 'index.ts'),
            bundling: {
              minify: ESBUILD_OPTIONS.minify,
              format: nodejs.OutputFormat.ESM,
              mainFields: [...ESBUILD_OPTIONS.mainFields],
              banner: ESBUILD_OPTIONS.banner.js,
              bundleAwsSDK: true,
              externalModules: [...ESBUILD_OPTIONS.external],
              forceDockerBundling: false,
            },
          })
        : new lambda.Function(this, 'Function', {
            ...common,
            handler: 'index.handler',
            code: lambda.Code.fromAsset(handlerDir(props.handler)),
          });

    const role = this.function.role;
    if (role) {
      acknowledge(role, [
        ...executionRoleAcks(),
        ...inAllPacks(
          'IAMNoInlinePolicy',
          'CDK grant policy of this function’s own role, scoped to its DLQ, regional key and log group; inline keeps its lifetime tied to the role.',
        ),
      ]);
    }
    acknowledge(this.function, [PINNED_RUNTIME_ACK]);
  }

  /** Adds one statement to the function's own role: least privilege, named by `sid`. */
  allow(sid: string, actions: string[], resources: string[]): void {
    this.role.addToPrincipalPolicy(new iam.PolicyStatement({ sid, actions, resources }));
  }

  /** The function's own execution role. */
  get role(): iam.IRole {
    const role = this.function.role;
    if (!role) throw new Error(`${this.node.path}: the function has no role`);
    return role;
  }
}

function handlerDir(handler: string): string {
  const dir = bundleHandlers().dirs.get(handler);
  if (!dir) {
    throw new Error(
      `MeridianFunction: no handler "${handler}" (expected lambda/${handler}/index.ts; found: ${[
        ...bundleHandlers().dirs.keys(),
      ].join(', ')})`,
    );
  }
  return dir;
}

/** Synth-time environment checks; throws one error listing every fault. */
export function checkEnvironment(
  handler: string,
  environment: Readonly<Record<string, string>>,
  required: readonly string[],
): void {
  const faults: string[] = [];
  for (const name of required) {
    if (!environment[name])
      faults.push(
        `${name} is required by lambda/${handler} but is ${name in environment ? 'empty' : 'not set'}`,
      );
  }
  for (const name of Object.keys(environment)) {
    if (!/^[A-Z][A-Z0-9_]*$/.test(name)) faults.push(`${name}: expected UPPER_SNAKE_CASE`);
    if (name.startsWith('AWS_')) faults.push(`${name}: AWS_* names are reserved by Lambda`);
  }
  const size = Object.entries(environment).reduce((n, [k, v]) => n + k.length + v.length, 0);
  if (size > ENV_LIMIT_BYTES)
    faults.push(`environment is ${size} bytes; Lambda allows ${ENV_LIMIT_BYTES}`);
  if (faults.length > 0) {
    throw new Error(`MeridianFunction ${handler}: ${faults.join('; ')}`);
  }
}
