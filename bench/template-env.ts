/**
 * The environment each function gets in a synthesized template, with CloudFormation's intrinsic
 * values (Ref, Fn::GetAtt, Fn::Join, Fn::Select) replaced by well-formed stand-ins: the bench loads
 * every bundle with exactly the variables its stack gives it, so a handler whose start-up check
 * needs a new variable is measured instead of breaking the bench (or being skipped).
 */

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
export interface Template {
  readonly Resources?: Record<string, Resource>;
}

const PSEUDO: Record<string, (c: Context) => string> = {
  'AWS::Region': (c) => c.region,
  'AWS::AccountId': (c) => c.account,
  'AWS::Partition': () => 'aws',
  'AWS::URLSuffix': () => 'amazonaws.com',
  'AWS::StackName': () => 'bench-stack',
};

interface Context {
  readonly template: Template;
  readonly region: string;
  readonly account: string;
}

const nameOf = (id: string) => `bench-${id.toLowerCase().replace(/[^a-z0-9]/g, '')}`.slice(0, 60);

/**
 * ARN shapes by resource type, as each service's ARN format is documented (service prefix and
 * resource part; "Amazon Resource Names" in the Service Authorization Reference). A type not here
 * gets `arn:aws:<service>:<region>:<account>:<name>`.
 */
const ARN_SHAPES: Record<string, (c: Context, name: string) => string> = {
  'AWS::IAM::Role': (c, n) => `arn:aws:iam::${c.account}:role/${n}`,
  'AWS::SNS::Topic': (c, n) => `arn:aws:sns:${c.region}:${c.account}:${n}`,
  'AWS::StepFunctions::StateMachine': (c, n) =>
    `arn:aws:states:${c.region}:${c.account}:stateMachine:${n}`,
  'AWS::SecretsManager::Secret': (c, n) =>
    `arn:aws:secretsmanager:${c.region}:${c.account}:secret:${n}`,
  'AWS::SecretsManager::SecretTargetAttachment': (c, n) =>
    `arn:aws:secretsmanager:${c.region}:${c.account}:secret:${n}`,
  'AWS::SQS::Queue': (c, n) => `arn:aws:sqs:${c.region}:${c.account}:${n}.fifo`,
  'AWS::Lambda::Function': (c, n) => `arn:aws:lambda:${c.region}:${c.account}:function:${n}`,
  'AWS::DynamoDB::Table': (c, n) => `arn:aws:dynamodb:${c.region}:${c.account}:table/${n}`,
  'AWS::DynamoDB::GlobalTable': (c, n) => `arn:aws:dynamodb:${c.region}:${c.account}:table/${n}`,
  'AWS::KMS::Key': (c, n) => `arn:aws:kms:${c.region}:${c.account}:key/${n}`,
  'AWS::S3::Bucket': (_c, n) => `arn:aws:s3:::${n}`,
  'AWS::CloudWatch::Alarm': (c, n) => `arn:aws:cloudwatch:${c.region}:${c.account}:alarm:${n}`,
};

/**
 * Types whose `Ref` returns the ARN rather than the name (the "Return values" section of each
 * type's page in the CloudFormation template reference). Every other type's `Ref` is its name
 * (or id), except a queue's, which is its URL.
 */
const REF_IS_ARN = new Set([
  'AWS::SNS::Topic',
  'AWS::StepFunctions::StateMachine',
  'AWS::SecretsManager::Secret',
  'AWS::SecretsManager::SecretTargetAttachment',
]);

function typeOf(c: Context, id: string): string {
  return c.template.Resources?.[id]?.Type ?? '';
}

function arnOf(c: Context, id: string): string {
  const type = typeOf(c, id);
  const shape = ARN_SHAPES[type];
  if (shape) return shape(c, nameOf(id));
  const service = (type.split('::')[1] ?? 'bench').toLowerCase();
  return `arn:aws:${service}:${c.region}:${c.account}:${nameOf(id)}`;
}

function refOf(c: Context, id: string): string {
  const pseudo = PSEUDO[id];
  if (pseudo) return pseudo(c);
  const type = typeOf(c, id);
  if (type === 'AWS::SQS::Queue')
    return `https://sqs.${c.region}.amazonaws.com/${c.account}/${nameOf(id)}.fifo`;
  if (REF_IS_ARN.has(type)) return arnOf(c, id);
  return nameOf(id);
}

function getAttOf(c: Context, id: string, attr: string): string {
  if (attr === 'Arn' || attr.endsWith('.Arn')) return arnOf(c, id);
  if (attr === 'QueueUrl') return refOf(c, id);
  if (attr === 'TopicArn') return arnOf(c, id);
  if (attr.endsWith('Address')) return `${nameOf(id)}.bench.internal`;
  if (attr.endsWith('Port')) return '6379';
  return nameOf(id);
}

function resolveValue(c: Context, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.Ref === 'string') return refOf(c, o.Ref);
    const att = o['Fn::GetAtt'];
    if (Array.isArray(att)) return getAttOf(c, String(att[0]), String(att[1]));
    const join = o['Fn::Join'];
    if (Array.isArray(join) && Array.isArray(join[1]))
      return join[1].map((p) => resolveValue(c, p)).join(String(join[0]));
    const select = o['Fn::Select'];
    if (Array.isArray(select) && Array.isArray(select[1]))
      return resolveValue(c, select[1][Number(select[0])]);
  }
  throw new Error(`bench: no stand-in for the intrinsic value ${JSON.stringify(v)}`);
}

/** Each Lambda function of `template` (by logical id) with its resolved environment. */
export function functionEnvironments(
  template: Template,
  region: string,
  account: string,
): Map<string, Record<string, string>> {
  const c: Context = { template, region, account };
  const out = new Map<string, Record<string, string>>();
  for (const [id, r] of Object.entries(template.Resources ?? {})) {
    if (r.Type !== 'AWS::Lambda::Function') continue;
    const vars = ((r.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables ?? {}) as Record<string, unknown>;
    out.set(id, Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolveValue(c, v)])));
  }
  return out;
}
