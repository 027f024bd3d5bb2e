/**
 * The runbook's contract with the templates (issue 16 item 6). Drills of the minimal fixture run
 * every step of the synthesized failover and failback machines against the drill world, and every
 * SDK call a step makes is checked against the synthesized templates of every region:
 * - each physical name or ARN in it is one some template defines (the lock table with a replica
 *   in the client's region and its key schema, an alarm under the prefix, the global cluster and
 *   the target's cluster, the Global Datastore and its member, the audit bucket in the client's
 *   region, the secret where it is kept, the hosted zone and its record sets);
 * - the IAM policies of the role of the step function that made it allow it, and the KMS use it
 *   implies (an SSE-KMS bucket, a secret under the regional key).
 * Health endpoints and Cloudflare are HTTP (fetch), not AWS: they are outside this contract.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import * as path from 'node:path';
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElastiCacheClient } from '@aws-sdk/client-elasticache';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { RDSClient } from '@aws-sdk/client-rds';
import { Route53Client } from '@aws-sdk/client-route-53';
import { S3Client } from '@aws-sdk/client-s3';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GLOBAL_DATASTORE_PREFIX } from '../../lib/cache/global-datastore-membership';
import { computeEdgePlan } from '../../lib/edge/edge-plan';
import {
  type DrillResult,
  runbookFromTemplate,
  runDrill,
  type SynthesizedRunbook,
} from '../../lib/failover/drill/run';
import { DrillWorld } from '../../lib/failover/drill/world';
import { buildApp } from '../support/app';
import { loadHandler } from '../support/drill';
import { load as loadConfig, MINIMAL } from '../support/fixture';

const ACCOUNT = '111111111111';
const PARTITION = 'aws';

// ---------------------------------------------------------------------------------------------
// Templates: intrinsics resolved as lib/failover/drill/run.ts resolves them (a secret's Ref is
// the ARN ending in its logical id, as the runbook's configuration carries it), plus the ARNs
// IAM statements and key policies name (keys, roles, tables, queues).

interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
}
type Resources = Readonly<Record<string, Resource>>;

/** What an intrinsic the resolver does not know becomes: a string no name or pattern matches. */
const unresolved = (v: unknown) => `<unresolved ${JSON.stringify(v)}>`;

function resolver(region: string, resources: Resources): (v: unknown) => string {
  const arn = (service: string, rest: string, where = region) =>
    `arn:${PARTITION}:${service}:${where}:${ACCOUNT}:${rest}`;
  const ref = (id: string, attr?: string): string => {
    const r = resources[id];
    const p = r?.Properties ?? {};
    switch (r?.Type) {
      case 'AWS::SecretsManager::Secret':
        return arn('secretsmanager', `secret:${id}`);
      case 'AWS::SNS::Topic':
        return arn('sns', id);
      case 'AWS::Lambda::Function':
        return arn('lambda', `function:${id}`);
      case 'AWS::KMS::Key':
        return attr === 'Arn' ? arn('kms', `key/${id}`) : id;
      case 'AWS::IAM::Role':
        return attr === 'Arn' ? arn('iam', `role/${id}`, '') : id;
      case 'AWS::SQS::Queue':
        return attr === 'Arn' ? arn('sqs', id) : `https://sqs.${region}.amazonaws.com/${id}`;
      case 'AWS::DynamoDB::GlobalTable':
      case 'AWS::DynamoDB::Table':
        return attr === 'Arn' ? arn('dynamodb', `table/${p.TableName}`) : String(p.TableName);
      default:
        return id;
    }
  };
  const pseudo: Record<string, string> = {
    'AWS::Partition': PARTITION,
    'AWS::Region': region,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const resolve = (v: unknown): string => {
    if (typeof v === 'string') return v;
    const o = (v ?? {}) as Record<string, unknown>;
    if (Array.isArray(o['Fn::Join'])) {
      const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
      return parts.map(resolve).join(sep);
    }
    if (typeof o.Ref === 'string') return pseudo[o.Ref] ?? ref(o.Ref);
    if (Array.isArray(o['Fn::GetAtt'])) {
      const [id, attr] = o['Fn::GetAtt'] as [string, string];
      return ref(id, attr);
    }
    return unresolved(v);
  };
  return resolve;
}

const list = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const props = (r: Resource) => r.Properties ?? {};

/** What the templates define, by the physical names the runbook uses. */
interface Defined {
  /** Table name → the regions it has a replica in, and its key attributes. */
  readonly tables: Map<string, { regions: Set<string>; key: string[] }>;
  /** Region → the names of the alarms (metric and composite) its template defines. */
  readonly alarms: Map<string, string[]>;
  readonly globalClusters: Set<string>;
  /** `<region>/<cluster id>` → its global cluster. */
  readonly clusters: Map<string, string | undefined>;
  /** Global Datastore id (AWS's prefix of the creating region + the suffix) → `<region>/<member>`. */
  readonly datastores: Map<string, Set<string>>;
  readonly replicationGroups: Set<string>;
  /** Bucket name → its region and its SSE-KMS key's ARN, if any. */
  readonly buckets: Map<string, { region: string; key?: string }>;
  /** Secret ARN → the regions it is kept in and its key's ARN. */
  readonly secrets: Map<string, { regions: Set<string>; key?: string }>;
  /** `<zone id> <name> <type> <set identifier>` of every record set; names get a final dot. */
  readonly records: Set<string>;
  /** `<region>/<function name>` of every function a template names (other regions invoke it). */
  readonly functions: Set<string>;
  readonly zones: Set<string>;
}

const dot = (name: string) => (name.endsWith('.') ? name : `${name}.`);

function defined(templates: ReadonlyMap<string, Resources>): Defined {
  const d: Defined = {
    tables: new Map(),
    alarms: new Map(),
    globalClusters: new Set(),
    clusters: new Map(),
    datastores: new Map(),
    replicationGroups: new Set(),
    buckets: new Map(),
    secrets: new Map(),
    records: new Set(),
    zones: new Set(),
    functions: new Set(),
  };
  const member = (id: string, at: string) => {
    const s = d.datastores.get(id) ?? new Set<string>();
    d.datastores.set(id, s.add(at));
  };
  for (const [region, resources] of templates) {
    const resolve = resolver(region, resources);
    for (const [id, r] of Object.entries(resources)) {
      const p = props(r);
      switch (r.Type) {
        case 'AWS::DynamoDB::GlobalTable':
        case 'AWS::DynamoDB::Table': {
          const replicas = list(p.Replicas).map((x) => resolve((x as { Region: unknown }).Region));
          d.tables.set(resolve(p.TableName), {
            regions: new Set([region, ...replicas]),
            key: list(p.KeySchema).map((k) =>
              String((k as { AttributeName: unknown }).AttributeName),
            ),
          });
          break;
        }
        case 'AWS::Lambda::Function':
          if (p.FunctionName !== undefined) d.functions.add(`${region}/${resolve(p.FunctionName)}`);
          break;
        case 'AWS::CloudWatch::Alarm':
        case 'AWS::CloudWatch::CompositeAlarm':
          if (p.AlarmName !== undefined)
            d.alarms.set(region, [...(d.alarms.get(region) ?? []), resolve(p.AlarmName)]);
          break;
        case 'AWS::RDS::GlobalCluster':
          d.globalClusters.add(resolve(p.GlobalClusterIdentifier));
          break;
        case 'AWS::RDS::DBCluster':
          d.clusters.set(
            `${region}/${resolve(p.DBClusterIdentifier)}`,
            p.GlobalClusterIdentifier === undefined
              ? undefined
              : resolve(p.GlobalClusterIdentifier),
          );
          break;
        case 'AWS::ElastiCache::GlobalReplicationGroup': {
          // ElastiCache puts its per-region prefix in front of the suffix the template gives.
          const gid = `${GLOBAL_DATASTORE_PREFIX[region]}-${resolve(p.GlobalReplicationGroupIdSuffix)}`;
          for (const m of list(p.Members) as Record<string, unknown>[])
            member(gid, `${resolve(m.ReplicationGroupRegion)}/${resolve(m.ReplicationGroupId)}`);
          break;
        }
        case 'AWS::ElastiCache::ReplicationGroup': {
          const rg = resolve(p.ReplicationGroupId);
          d.replicationGroups.add(`${region}/${rg}`);
          if (p.GlobalReplicationGroupId !== undefined)
            member(resolve(p.GlobalReplicationGroupId), `${region}/${rg}`);
          break;
        }
        case 'AWS::S3::Bucket': {
          const sse = list(
            (p.BucketEncryption as { ServerSideEncryptionConfiguration?: unknown } | undefined)
              ?.ServerSideEncryptionConfiguration,
          ).map(
            (c) =>
              (c as { ServerSideEncryptionByDefault?: Record<string, unknown> })
                .ServerSideEncryptionByDefault,
          )[0];
          d.buckets.set(resolve(p.BucketName), {
            region,
            ...(sse?.SSEAlgorithm === 'aws:kms' && sse.KMSMasterKeyID !== undefined
              ? { key: resolve(sse.KMSMasterKeyID) }
              : {}),
          });
          break;
        }
        case 'AWS::SecretsManager::Secret': {
          const replicas = list(p.ReplicaRegions).map((x) =>
            resolve((x as { Region: unknown }).Region),
          );
          d.secrets.set(resolve({ Ref: id }), {
            regions: new Set([region, ...replicas]),
            ...(p.KmsKeyId !== undefined ? { key: resolve(p.KmsKeyId) } : {}),
          });
          break;
        }
        case 'AWS::Route53::RecordSet': {
          const zone = resolve(p.HostedZoneId);
          d.zones.add(zone);
          const set = p.SetIdentifier === undefined ? '' : resolve(p.SetIdentifier);
          d.records.add(`${zone} ${dot(resolve(p.Name))} ${resolve(p.Type)} ${set}`);
          break;
        }
      }
    }
  }
  return d;
}

// ---------------------------------------------------------------------------------------------
// IAM: a small evaluator of Allow statements. It ignores Deny statements, NotAction/NotResource
// (such a statement allows nothing here) and every Condition: it answers "does some statement
// grant this", which is what a missing grant breaks. Actions match case-insensitively, resources
// case-sensitively; `*` is any run of characters, `?` one.

interface Statement {
  readonly Effect?: string;
  readonly Action?: unknown;
  readonly Resource?: unknown;
  readonly Principal?: unknown;
}

/**
 * Whether pattern `p` matches every string `q` stands for: `q` is a name or an ARN, where a `*`
 * is a wildcard too (an alarm name prefix is `<prefix>*`); a `*` of `q` is matched only by a `*`
 * of `p`.
 */
function covers(p: string, q: string): boolean {
  const memo = new Map<number, boolean>();
  const go = (i: number, j: number): boolean => {
    const k = i * (q.length + 1) + j;
    const known = memo.get(k);
    if (known !== undefined) return known;
    let r: boolean;
    if (i === p.length) r = j === q.length;
    else if (p[i] === '*') r = go(i + 1, j) || (j < q.length && go(i, j + 1));
    else if (j === q.length || q[j] === '*') r = false;
    else r = (p[i] === '?' || p[i] === q[j]) && go(i + 1, j + 1);
    memo.set(k, r);
    return r;
  };
  return go(0, 0);
}

const allows = (
  statements: readonly Statement[],
  resolve: (v: unknown) => string,
  action: string,
  resource: string,
) =>
  statements.some(
    (s) =>
      s.Effect === 'Allow' &&
      list(s.Action).some((a) => covers(resolve(a).toLowerCase(), action.toLowerCase())) &&
      list(s.Resource).some((r) => covers(resolve(r), resource)),
  );

/** A function's role ARN and the statements of every policy attached to it in its template. */
function roleOf(resources: Resources, fnId: string): { arn: string; statements: Statement[] } {
  const role = (props(resources[fnId] ?? { Type: '' }).Role as { 'Fn::GetAtt'?: [string] })?.[
    'Fn::GetAtt'
  ]?.[0];
  if (!role) return { arn: `<no role for ${fnId}>`, statements: [] };
  const refs = (v: unknown) => list(v).some((x) => (x as { Ref?: string }).Ref === role);
  const doc = (p: Record<string, unknown>) =>
    list((p.PolicyDocument as { Statement?: unknown } | undefined)?.Statement) as Statement[];
  const rp = props(resources[role] ?? { Type: '' });
  const managed = list(rp.ManagedPolicyArns).map((m) => (m as { Ref?: string }).Ref);
  const statements = [
    ...list(rp.Policies).flatMap((p) => doc(p as Record<string, unknown>)),
    // Customer managed policies of the template; AWS managed ones (basic execution, VPC access)
    // grant logs and network interfaces only, none of the runbook's calls.
    ...Object.entries(resources)
      .filter(
        ([id, r]) =>
          (r.Type === 'AWS::IAM::Policy' && refs(props(r).Roles)) ||
          (r.Type === 'AWS::IAM::ManagedPolicy' && (refs(props(r).Roles) || managed.includes(id))),
      )
      .flatMap(([, r]) => doc(props(r))),
  ];
  return { arn: `arn:${PARTITION}:iam::${ACCOUNT}:role/${role}`, statements };
}

/**
 * Whether a role may use a KMS key: the key policy allows the role itself, or it delegates to
 * the account (its root) and the role's own policies allow it.
 */
function keyAllows(
  templates: ReadonlyMap<string, Resources>,
  keyArn: string,
  role: { arn: string; statements: Statement[] },
  resolve: (v: unknown) => string,
  action: string,
): boolean {
  const m = /^arn:[^:]+:kms:([^:]+):[^:]*:key\/(.+)$/.exec(keyArn);
  const resources = templates.get(m?.[1] ?? '') ?? {};
  const key = resources[m?.[2] ?? ''];
  if (key?.Type !== 'AWS::KMS::Key') return false;
  const keyResolve = resolver(m?.[1] ?? '', resources);
  const policy = list(
    (props(key).KeyPolicy as { Statement?: unknown } | undefined)?.Statement,
  ) as Statement[];
  const grants = (principal: string) =>
    policy.some(
      (s) =>
        s.Effect === 'Allow' &&
        list((s.Principal as { AWS?: unknown } | undefined)?.AWS).some((p) =>
          covers(keyResolve(p), principal),
        ) &&
        list(s.Action).some((a) => covers(keyResolve(a).toLowerCase(), action.toLowerCase())),
    );
  return (
    grants(role.arn) ||
    (grants(`arn:${PARTITION}:iam::${ACCOUNT}:root`) &&
      allows(role.statements, resolve, action, keyArn))
  );
}

// ---------------------------------------------------------------------------------------------
// Recording: which step made which SDK call, in which client region.

interface StepRun {
  readonly drill: string;
  /** The runbook's region: its template holds the step function and its role. */
  readonly region: string;
  readonly state: string;
  readonly handler: string;
  /** The step function's logical id (the Task's Resource). */
  readonly fn: string;
}

interface SdkCall extends StepRun {
  readonly service: string;
  readonly command: string;
  readonly input: Record<string, unknown>;
  readonly clientRegion: string;
}

/** The clients the drill world mocks, with their IAM service prefix. */
const SERVICES = [
  [DynamoDBClient, 'dynamodb'],
  [CloudWatchClient, 'cloudwatch'],
  [RDSClient, 'rds'],
  [ElastiCacheClient, 'elasticache'],
  [Route53Client, 'route53'],
  [S3Client, 's3'],
  [SecretsManagerClient, 'secretsmanager'],
  [LambdaClient, 'lambda'],
] as const;

/** The step whose handler is running (Parallel branches run at once: a variable would mix them). */
const inStep = new AsyncLocalStorage<StepRun>();

type Send = (
  this: { config: { region: () => Promise<string> } },
  command: { input: Record<string, unknown> },
  ...rest: unknown[]
) => unknown;

/**
 * Records every call the mocks the world installed on the clients' prototypes receive, with the
 * step that made it; returns the function that puts the mocks back as they were (before the world
 * restores them).
 */
function recordCalls(into: Promise<SdkCall>[]): () => void {
  const undo = SERVICES.map(([Client, service]) => {
    const proto = Client.prototype as unknown as { send: Send };
    const mocked = proto.send;
    proto.send = function (command, ...rest) {
      const step = inStep.getStore() ?? {
        drill: '?',
        region: '?',
        state: '(no step)',
        handler: '?',
        fn: '?',
      };
      const name = command.constructor.name.replace(/Command$/, '');
      into.push(
        this.config.region().then((clientRegion) => ({
          ...step,
          service,
          command: name,
          input: command.input,
          clientRegion,
        })),
      );
      return mocked.call(this, command, ...rest);
    };
    return () => {
      proto.send = mocked;
    };
  });
  return () => {
    for (const u of undo) u();
  };
}

/**
 * runDrill's `load`, binding each handler to its Task state: run.ts loads one handler per Task,
 * in the order of `rb.tasks` (checked here, so a change there fails loudly rather than
 * misattributing calls).
 */
function loader(drill: string, rb: SynthesizedRunbook, ran: StepRun[]) {
  return (file: string, state = '') => {
    const task = rb.tasks.get(state);
    if (!task || !file.endsWith(path.join(task.handler, 'index.ts')))
      throw new Error(`contract: run.ts loaded ${file} where Task ${state}'s handler was expected`);
    const mod = loadHandler(file);
    const fn = /function:([A-Za-z0-9]+)$/.exec(String(rb.states.get(state)?.Resource))?.[1] ?? '?';
    const at: StepRun = { drill, region: rb.region, state, handler: task.handler, fn };
    return {
      handler: (input: unknown) => {
        ran.push(at);
        return inStep.run(at, () => mod.handler(input));
      },
    };
  };
}

// ---------------------------------------------------------------------------------------------
// The contract of each call: the names it uses that a template must define, and the IAM
// actions on resources (ARNs) it needs.

interface Needs {
  readonly problems: string[];
  readonly access: { action: string; resource: string; key?: boolean }[];
}

const arnOf = (service: string, region: string, rest: string) =>
  `arn:${PARTITION}:${service}:${region}:${ACCOUNT}:${rest}`;
const str = (v: unknown) => String(v);
const some = (names: Iterable<string>) => [...names].join(', ') || 'none';

const IAM_ACTIONS: Readonly<Record<string, string>> = { 'lambda:Invoke': 'lambda:InvokeFunction' };

function needs(c: SdkCall, d: Defined): Needs {
  const problems: string[] = [];
  const access: Needs['access'] = [];
  const i = c.input;
  const action = `${c.service}:${c.command}`;
  // IAM names Lambda's Invoke call lambda:InvokeFunction (the others are named like the call).
  const iamAction = IAM_ACTIONS[action] ?? action;
  const need = (resource: string) => access.push({ action: iamAction, resource });
  const globalCluster = (id: string) => {
    if (!d.globalClusters.has(id))
      problems.push(`global cluster ${id}: no template defines it (${some(d.globalClusters)})`);
    need(arnOf('rds', '', `global-cluster:${id}`));
  };
  const datastore = (id: string) => {
    if (!d.datastores.has(id))
      problems.push(
        `Global Datastore ${id}: no template defines it (${some(d.datastores.keys())})`,
      );
    need(arnOf('elasticache', '', `globalreplicationgroup:${id}`));
  };
  const zone = (id: string) => {
    if (!d.zones.has(id)) problems.push(`hosted zone ${id}: no template has records in it`);
    need(`arn:${PARTITION}:route53:::hostedzone/${id}`);
  };
  const record = (zoneId: string, name: string, type: string, set = '') => {
    const known = [...d.records].filter((r) => r.startsWith(`${zoneId} ${dot(name)} ${type} `));
    if (known.length === 0 || (set && !known.includes(`${zoneId} ${dot(name)} ${type} ${set}`)))
      problems.push(
        `record ${dot(name)} ${type}${set ? ` (${set})` : ''}: no template defines it in zone ${zoneId}`,
      );
  };

  switch (action) {
    case 'dynamodb:GetItem':
    case 'dynamodb:UpdateItem': {
      const table = str(i.TableName);
      const t = d.tables.get(table);
      const key = Object.keys(i.Key ?? {}).sort();
      if (!t) problems.push(`table ${table}: no template defines it (${some(d.tables.keys())})`);
      else if (!t.regions.has(c.clientRegion))
        problems.push(`table ${table} has no replica in ${c.clientRegion} (${some(t.regions)})`);
      else if (key.join() !== [...t.key].sort().join())
        problems.push(`table ${table}: key ${key} is not its key schema (${t.key})`);
      need(arnOf('dynamodb', c.clientRegion, `table/${table}`));
      break;
    }
    case 'cloudwatch:DescribeAlarms': {
      // Alarms are regional: a read in one region sees only the alarms its template defines.
      const prefix = str(i.AlarmNamePrefix ?? '');
      const under = (names: string[] = []) => !!prefix && names.some((a) => a.startsWith(prefix));
      if (!under(d.alarms.get(c.clientRegion))) {
        const elsewhere = [...d.alarms].filter(([, names]) => under(names)).map(([r]) => r);
        problems.push(
          `alarm prefix '${prefix}': the ${c.clientRegion} template defines no alarm under it (${elsewhere.length ? `only that of ${some(elsewhere)} does` : 'no template does'})`,
        );
      }
      need(arnOf('cloudwatch', c.clientRegion, `alarm:${prefix}*`));
      break;
    }
    case 'lambda:Invoke': {
      // A function of another region, invoked by its name (the failback's search step).
      const name = str(i.FunctionName);
      if (!d.functions.has(`${c.clientRegion}/${name}`))
        problems.push(`function ${name}: the ${c.clientRegion} template names no such function`);
      need(arnOf('lambda', c.clientRegion, `function:${name}`));
      break;
    }
    case 'rds:DescribeGlobalClusters':
      globalCluster(str(i.GlobalClusterIdentifier));
      break;
    case 'rds:FailoverGlobalCluster':
    case 'rds:SwitchoverGlobalCluster': {
      const id = str(i.GlobalClusterIdentifier);
      globalCluster(id);
      const target = str(i.TargetDbClusterIdentifier);
      const m = /^arn:[^:]+:rds:([^:]+):(\d+):cluster:(.+)$/.exec(target);
      const key = `${m?.[1]}/${m?.[3]}`;
      if (!m || m[2] !== ACCOUNT || !d.clusters.has(key))
        problems.push(`target cluster ${target}: no template of its region defines it`);
      else if (d.clusters.get(key) !== id)
        problems.push(`target cluster ${target} is not a member of ${id}`);
      need(target);
      break;
    }
    case 'elasticache:DescribeGlobalReplicationGroups':
      datastore(str(i.GlobalReplicationGroupId));
      break;
    case 'elasticache:FailoverGlobalReplicationGroup': {
      const id = str(i.GlobalReplicationGroupId);
      datastore(id);
      const member = `${str(i.PrimaryRegion)}/${str(i.PrimaryReplicationGroupId)}`;
      if (!d.replicationGroups.has(member))
        problems.push(`replication group ${member}: no template of its region defines it`);
      else if (!d.datastores.get(id)?.has(member))
        problems.push(`replication group ${member} is not a member of ${id}`);
      need(
        arnOf(
          'elasticache',
          str(i.PrimaryRegion),
          `replicationgroup:${str(i.PrimaryReplicationGroupId)}`,
        ),
      );
      break;
    }
    // Health checks are found at run time by their tag; their ids are AWS's, not names.
    case 'route53:ListHealthChecks':
      need('*');
      break;
    case 'route53:ListTagsForResources':
      for (const id of list(i.ResourceIds))
        need(`arn:${PARTITION}:route53:::healthcheck/${str(id)}`);
      break;
    case 'route53:GetHealthCheckStatus':
      need(`arn:${PARTITION}:route53:::healthcheck/${str(i.HealthCheckId)}`);
      break;
    case 'route53:ListResourceRecordSets':
      zone(str(i.HostedZoneId));
      record(str(i.HostedZoneId), str(i.StartRecordName), str(i.StartRecordType));
      break;
    case 'route53:ChangeResourceRecordSets': {
      const zoneId = str(i.HostedZoneId);
      zone(zoneId);
      const changes = (i.ChangeBatch as { Changes?: unknown[] } | undefined)?.Changes ?? [];
      for (const ch of changes as { ResourceRecordSet: Record<string, unknown> }[]) {
        const r = ch.ResourceRecordSet;
        record(zoneId, str(r.Name), str(r.Type), str(r.SetIdentifier ?? ''));
        // A CNAME sends clients to a name: one a template defines, or traffic goes nowhere.
        if (r.Type === 'CNAME')
          for (const v of list(r.ResourceRecords) as { Value: string }[])
            if (![...d.records].some((x) => x.startsWith(`${zoneId} ${dot(v.Value)} `)))
              problems.push(`record value ${v.Value}: no template defines that name`);
      }
      break;
    }
    case 's3:PutObject': {
      const bucket = d.buckets.get(str(i.Bucket));
      if (!bucket) problems.push(`bucket ${str(i.Bucket)}: no template defines it`);
      else if (bucket.region !== c.clientRegion)
        problems.push(
          `bucket ${str(i.Bucket)} is in ${bucket.region}, the client in ${c.clientRegion}`,
        );
      need(`arn:${PARTITION}:s3:::${str(i.Bucket)}/${str(i.Key)}`);
      if (bucket?.key)
        access.push({ action: 'kms:GenerateDataKey', resource: bucket.key, key: true });
      break;
    }
    case 'secretsmanager:GetSecretValue': {
      const id = str(i.SecretId);
      const secret = d.secrets.get(id);
      if (!secret) problems.push(`secret ${id}: no template defines it`);
      else if (!secret.regions.has(c.clientRegion))
        problems.push(`secret ${id} is not kept in ${c.clientRegion} (${some(secret.regions)})`);
      need(id);
      if (secret?.key) access.push({ action: 'kms:Decrypt', resource: secret.key, key: true });
      break;
    }
    default:
      problems.push(
        `no contract for ${action}: teach test/failover/contract.test.ts its names and ARNs`,
      );
  }
  return { problems, access };
}

// ---------------------------------------------------------------------------------------------
// The drills.

const built = buildApp(loadConfig(MINIMAL));
const templates = new Map(
  built.stacks.map((s) => [
    s.region,
    (built.template(s.region).toJSON() as { Resources: Resources }).Resources,
  ]),
);
const runbooks = new Map<string, SynthesizedRunbook>();
const runbook = (region: string, machine: 'failover' | 'failback' = 'failover') => {
  let rb = runbooks.get(`${region}/${machine}`);
  if (!rb) {
    const template = built.template(region).toJSON() as never;
    rb = runbookFromTemplate(template, region, ACCOUNT, machine);
    runbooks.set(`${region}/${machine}`, rb);
  }
  return rb;
};

const pending: Promise<SdkCall>[] = [];
const ran: StepRun[] = [];
const results = new Map<string, DrillResult>();

interface RunOptions {
  /** The execution's name. @default the drill's */
  readonly name?: string;
  readonly before?: Record<string, () => Promise<void>>;
  /** Answer the failback's approval request with `approved: true`. */
  readonly approve?: boolean;
}
type Run = (
  region: string,
  machine: 'failover' | 'failback',
  input: Record<string, unknown>,
  o?: RunOptions,
) => Promise<DrillResult>;

/**
 * Runs one drill, recording its SDK calls, in a fresh world of the cell of the runbook of region
 * `of`; `steps` prepares the world and runs the executions.
 */
async function drill(
  name: string,
  of: string,
  steps: (world: DrillWorld, run: Run) => Promise<DrillResult>,
): Promise<void> {
  const world = new DrillWorld(runbook(of).config);
  const stop = recordCalls(pending);
  const run: Run = (region, machine, input, o = {}) => {
    const rb = runbook(region, machine);
    return runDrill(rb, input as never, {
      name: o.name ?? name,
      load: loader(name, rb, ran),
      clock: world,
      ...(o.before ? { before: o.before } : {}),
      notify: (state, message) => {
        world.notifications.push({ subject: state, message });
        return state === 'Request approval' && o.approve ? { approved: true } : undefined;
      },
    });
  };
  try {
    results.set(name, await steps(world, run));
  } finally {
    stop();
    world.restore();
  }
}

const FAILOVER = { cell: 'eu', failedRegion: 'eu-west-1', mode: 'auto' };
let calls: SdkCall[] = [];

beforeAll(async () => {
  // eu-west-1 (the writer) down; the eu-central-1 runbook fails the cell over.
  await drill('failover', 'eu-central-1', (world, run) => {
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    return run('eu-central-1', 'failover', FAILOVER);
  });
  // Two executions at once: one acts, the other finds the lock held (and reads who holds it).
  await drill('lock held', 'eu-central-1', async (world, run) => {
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    const both = await Promise.all(
      ['a', 'b'].map((x) => run('eu-central-1', 'failover', FAILOVER, { name: `exec-${x}` })),
    );
    return both.find((r) => r.output?.outcome !== 'failed over') ?? (both[0] as DrillResult);
  });
  // The target looks unhealthy after the switch: Roll back, then release the lock.
  await drill('rollback', 'eu-central-1', (world, run) => {
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    return run('eu-central-1', 'failover', FAILOVER, {
      before: {
        'Verify target': async () => {
          world.region('eu-central-1').up = false;
        },
      },
    });
  });
  // After that failover, eu-west-1 is back; an operator approves the failback.
  await drill('failback', 'eu-central-1', async (world, run) => {
    world.fail('eu-west-1');
    world.untilWatchersSeeDown('eu-west-1');
    await run('eu-central-1', 'failover', FAILOVER);
    world.recover('eu-west-1', 0.4);
    return run(
      'eu-central-1',
      'failback',
      { cell: 'eu', originalRegion: 'eu-west-1', currentRegion: 'eu-central-1' },
      { approve: true },
    );
  });
  // The eu-west-1 runbook, cut off with eu-west-1 and forced by an operator (mode failover: no
  // watcher majority needed): its Verify, and its Lock at both endpoints.
  await drill('partition', 'eu-central-1', (world, run) => {
    world.partition(['eu-west-1'], ['eu-central-1', 'eu-west-2']);
    world.region('eu-central-1').alarms = ['meridian-prod-eu-central-1-critical-endpoint'];
    return run('eu-west-1', 'failover', {
      ...FAILOVER,
      failedRegion: 'eu-central-1',
      mode: 'failover',
    });
  });
  // A one-region cell (us): its own lock table, no target, the lock released.
  await drill('single region', 'us-east-1', (world, run) => {
    world.fail('us-east-1', { wholly: false });
    world.untilWatchersSeeDown('us-east-1');
    return run('us-east-1', 'failover', { cell: 'us', failedRegion: 'us-east-1', mode: 'auto' });
  });
  calls = await Promise.all(pending);
}, 120_000);

const where = (c: SdkCall) =>
  `${c.state} (${c.handler}, ${c.region} template) · ${c.service}:${c.command} in ${c.clientRegion}`;

/** Each problem once, with the drills it showed in: `[drills] state (function) · call: problem`. */
function once(found: readonly { c: SdkCall; p: string }[]): string[] {
  const drills = new Map<string, Set<string>>();
  for (const { c, p } of found) {
    const key = `${where(c)}: ${p}`;
    drills.set(key, (drills.get(key) ?? new Set()).add(c.drill));
  }
  return [...drills].map(([key, in_]) => `[${[...in_].join(', ')}] ${key}`);
}

describe('contract: the runbook steps and the templates', () => {
  test('the drills end as designed and run every step function of both machines', () => {
    expect(
      Object.fromEntries([...results].map(([name, r]) => [name, r.output?.outcome ?? r.status])),
    ).toEqual({
      failover: 'failed over',
      'lock held': 'lock held by another execution',
      rollback: 'FAILED',
      failback: 'failed back',
      partition: 'FAILED',
      'single region': 'manual intervention: no healthy target',
    });
    expect(results.get('rollback')?.error).toMatch(
      /rolled back after: .*not healthy after the switch/,
    );
    expect(results.get('partition')?.events.some((e) => e.state === 'Fence old region')).toBe(
      false,
    );
    const handlers = (rb: SynthesizedRunbook) => [...rb.tasks.values()].map((t) => t.handler);
    const all = new Set([
      ...handlers(runbook('eu-central-1')),
      ...handlers(runbook('eu-central-1', 'failback')),
    ]);
    const done = new Set(ran.filter((r) => r.region === 'eu-central-1').map((r) => r.handler));
    expect([...all].filter((h) => !done.has(h))).toEqual([]);
    // Every call came from a step, and every service the world fakes was called.
    expect(calls.filter((c) => c.state === '(no step)').map(where)).toEqual([]);
    expect(new Set(calls.map((c) => c.service))).toEqual(new Set(SERVICES.map(([, s]) => s)));
  });

  test('every name or ARN a call uses is one a template defines', () => {
    const d = defined(templates);
    expect(once(calls.flatMap((c) => needs(c, d).problems.map((p) => ({ c, p }))))).toEqual([]);
  });

  test('the role of the step function that makes a call allows it (and the KMS use it implies)', () => {
    const d = defined(templates);
    const problems = calls.flatMap((c) => {
      const resources = templates.get(c.region) ?? {};
      const resolve = resolver(c.region, resources);
      const role = roleOf(resources, c.fn);
      return needs(c, d)
        .access.filter((a) =>
          a.key
            ? !keyAllows(templates, a.resource, role, resolve, a.action)
            : !allows(role.statements, resolve, a.action, a.resource),
        )
        .map((a) => ({ c, p: `${role.arn.split('/')[1]} may not ${a.action} on ${a.resource}` }));
    });
    expect(once(problems)).toEqual([]);
  });
});

describe('the IAM pattern evaluator', () => {
  test.each([
    ['arn:aws:s3:::b/failover/*', 'arn:aws:s3:::b/failover/2025/x.json', true],
    ['arn:aws:s3:::b/failover/*', 'arn:aws:s3:::b/other/x.json', false],
    ['arn:aws:cloudwatch:r:1:alarm:p-*', 'arn:aws:cloudwatch:r:1:alarm:p-critical-*', true],
    [
      'arn:aws:cloudwatch:r:1:alarm:p-critical-x',
      'arn:aws:cloudwatch:r:1:alarm:p-critical-*',
      false,
    ],
    ['arn:aws:cloudwatch:r:1:alarm:p-?', 'arn:aws:cloudwatch:r:1:alarm:p-*', false],
    ['dynamodb:*item', 'dynamodb:updateitem', true],
    ['table/lock-?', 'table/lock-a', true],
    ['table/lock-?', 'table/lock-ab', false],
    ['*', '*', true],
    ['arn:*', '*', false],
  ])('%s covers %s: %s', (pattern, requested, expected) => {
    expect(covers(pattern, requested)).toBe(expected);
  });
});

test('the names the steps act on are the names the stacks and the edge give those resources', () => {
  const pools = computeEdgePlan(loadConfig(MINIMAL)).pools.map((p) => p.name);
  for (const stack of built.stacks) {
    const names = runbook(stack.region).config.names;
    for (const [region, n] of Object.entries(names)) {
      // The Cloudflare pool the traffic step disables is one the edge stack creates.
      expect(pools).toContain(n.pool);
      // The Aurora cluster the promote step names is the one that region's stack defines.
      const clusters = Object.values(templates.get(region) ?? {})
        .filter((r) => r.Type === 'AWS::RDS::DBCluster')
        .map((r) => r.Properties?.DBClusterIdentifier);
      expect(clusters).toEqual([n.cluster]);
      // Every critical alarm about the region, wherever it lives, starts with the prefix Verify lists.
      const about = [...templates.values()]
        .flatMap((t) => Object.values(t))
        .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
        .map((r) => String(r.Properties?.AlarmName ?? ''))
        .filter((name) => name.includes(`-${region}-critical-`));
      expect(about.length).toBeGreaterThan(0);
      for (const name of about) expect(name.startsWith(n.criticalAlarmPrefix)).toBe(true);
    }
  }
});
