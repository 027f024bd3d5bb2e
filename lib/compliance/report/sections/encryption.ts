/**
 * Encryption at rest and in transit, per store: the key each store resource names (resolved to
 * its alias) and who rotates it, and how the template makes clients use TLS.
 */
import type { StackArtifact } from '../assembly';
import type { Section } from '../section';
import {
  byType,
  type KeyFact,
  keyOf,
  policyRequiresTls,
  props,
  refTarget,
  resourcesOf,
} from '../template';

export type StoreKind = 'aurora' | 'cache' | 's3' | 'opensearch' | 'sqs' | 'dynamodb' | 'sns';

/**
 * How clients reach a store. `required`: the template refuses plain text (`by` says where);
 * `api`: the store is reached only through the AWS HTTPS API and no policy adds to that;
 * `not-enforced`: plain text is possible.
 */
export interface Transit {
  readonly tls: 'required' | 'api' | 'not-enforced';
  readonly by?:
    | 'parameter group'
    | 'replication group'
    | 'global datastore'
    | 'bucket policy'
    | 'queue policy'
    | 'domain endpoint';
  /** An OpenSearch domain's TLS security policy. */
  readonly tlsPolicy?: string;
  /** A cache's AUTH token on top of TLS. */
  readonly authToken?: boolean;
  /** OpenSearch node-to-node encryption. */
  readonly nodeToNode?: boolean;
}

export interface StoreEncryption {
  readonly region: string;
  readonly store: StoreKind;
  readonly resource: string;
  /** The key at rest; absent when the store is not encrypted at rest. */
  readonly atRest?: KeyFact;
  readonly inTransit: Transit;
}

export function encryptionOf(s: StackArtifact): StoreEncryption[] {
  const t = s.template;
  const out: StoreEncryption[] = [];
  const push = (
    store: StoreKind,
    resource: string,
    key: unknown,
    encrypted: boolean,
    inTransit: Transit,
  ) =>
    out.push({
      region: s.region,
      store,
      resource,
      ...(encrypted ? { atRest: keyOf(t, key) } : {}),
      inTransit,
    });
  for (const [id, r] of byType(t, 'AWS::RDS::DBCluster')) {
    const p = props(r);
    const pg = resourcesOf(t)[refTarget(p.DBClusterParameterGroupName) ?? ''];
    const params = (pg?.Properties?.Parameters ?? {}) as Record<string, unknown>;
    const forced = String(params['rds.force_ssl']) === '1';
    push(
      'aurora',
      id,
      p.KmsKeyId,
      p.StorageEncrypted === true || typeof p.GlobalClusterIdentifier === 'string',
      forced ? { tls: 'required', by: 'parameter group' } : { tls: 'not-enforced' },
    );
  }
  for (const [id, r] of byType(t, 'AWS::ElastiCache::ReplicationGroup')) {
    const p = props(r);
    const member = typeof p.GlobalReplicationGroupId === 'string';
    const transit: Transit =
      p.TransitEncryptionEnabled === true
        ? { tls: 'required', by: 'replication group', authToken: p.AuthToken !== undefined }
        : member
          ? { tls: 'required', by: 'global datastore', authToken: true }
          : { tls: 'not-enforced' };
    push('cache', id, p.KmsKeyId, p.AtRestEncryptionEnabled === true, transit);
  }
  for (const [id, r] of byType(t, 'AWS::S3::Bucket')) {
    const p = props(r);
    const rule = (
      (p.BucketEncryption as { ServerSideEncryptionConfiguration?: unknown[] } | undefined)
        ?.ServerSideEncryptionConfiguration?.[0] as
        | { ServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: unknown } }
        | undefined
    )?.ServerSideEncryptionByDefault;
    const inTransit: Transit = policyRequiresTls(t, 'AWS::S3::BucketPolicy', 'Bucket', id)
      ? { tls: 'required', by: 'bucket policy' }
      : { tls: 'not-enforced' };
    if (rule?.SSEAlgorithm === 'AES256')
      out.push({
        region: s.region,
        store: 's3',
        resource: id,
        atRest: { kind: 'sse-s3', rotation: { by: 'aws' } },
        inTransit,
      });
    else push('s3', id, rule?.KMSMasterKeyID, rule !== undefined, inTransit);
  }
  for (const [id, r] of byType(t, 'AWS::OpenSearchService::Domain')) {
    const p = props(r);
    const rest = p.EncryptionAtRestOptions as { Enabled?: boolean; KmsKeyId?: unknown } | undefined;
    const ep = p.DomainEndpointOptions as
      | { EnforceHTTPS?: boolean; TLSSecurityPolicy?: string }
      | undefined;
    const nodeToNode =
      (p.NodeToNodeEncryptionOptions as { Enabled?: boolean } | undefined)?.Enabled === true;
    push(
      'opensearch',
      id,
      rest?.KmsKeyId,
      rest?.Enabled === true,
      ep?.EnforceHTTPS
        ? {
            tls: 'required',
            by: 'domain endpoint',
            ...(ep.TLSSecurityPolicy ? { tlsPolicy: ep.TLSSecurityPolicy } : {}),
            nodeToNode,
          }
        : { tls: 'not-enforced', nodeToNode },
    );
  }
  for (const [id, r] of byType(t, 'AWS::SQS::Queue')) {
    const p = props(r);
    push(
      'sqs',
      id,
      p.KmsMasterKeyId,
      p.KmsMasterKeyId !== undefined || p.SqsManagedSseEnabled === true,
      policyRequiresTls(t, 'AWS::SQS::QueuePolicy', 'Queues', id)
        ? { tls: 'required', by: 'queue policy' }
        : { tls: 'api' },
    );
  }
  for (const [id, r] of byType(t, 'AWS::DynamoDB::GlobalTable')) {
    const sse = props(r).SSESpecification as { SSEEnabled?: boolean; SSEType?: string } | undefined;
    out.push({
      region: s.region,
      store: 'dynamodb',
      resource: id,
      atRest: { kind: sse?.SSEEnabled ? 'aws-managed' : 'aws-owned', rotation: { by: 'aws' } },
      inTransit: { tls: 'api' },
    });
  }
  for (const [id, r] of byType(t, 'AWS::SNS::Topic')) {
    const p = props(r);
    push('sns', id, p.KmsMasterKeyId, p.KmsMasterKeyId !== undefined, { tls: 'api' });
  }
  return out;
}

// Wording.

export const STORE_LABEL: Record<StoreKind, string> = {
  aurora: 'Aurora PostgreSQL',
  cache: 'ElastiCache (Valkey/Redis)',
  s3: 'S3 bucket',
  opensearch: 'OpenSearch domain',
  sqs: 'SQS queue',
  dynamodb: 'DynamoDB global table',
  sns: 'SNS topic',
};

export function keyText(k: KeyFact): string {
  switch (k.kind) {
    case 'customer':
      return `customer key ${k.name}`;
    case 'aws-owned':
      return 'AWS owned key';
    case 'aws-managed':
      return 'SSE KMS (AWS managed key)';
    case 'sse-s3':
      return 'SSE-S3 (AWS managed)';
    case 'named':
      return String(k.name);
  }
}

export function rotationText(k: KeyFact): string {
  const r = k.rotation;
  if (r.by === 'aws') return 'by AWS';
  if (r.by === 'unknown') return 'see key';
  return r.rotates ? `yearly${r.days ? ` (${r.days} d)` : ''}` : 'NOT ROTATED';
}

export function transitText(e: StoreEncryption): string {
  const t = e.inTransit;
  if (e.store === 'opensearch')
    return `${t.tls === 'required' ? `HTTPS required (${t.tlsPolicy ?? 'default policy'})` : 'HTTPS NOT ENFORCED'}; node-to-node ${t.nodeToNode ? 'encrypted' : 'NOT ENCRYPTED'}`;
  if (t.tls === 'not-enforced') return 'TLS NOT ENFORCED';
  if (t.tls === 'api')
    return e.store === 'sqs' ? 'HTTPS API (TLS not enforced by policy)' : 'HTTPS API';
  switch (t.by) {
    case 'parameter group':
      return 'TLS required (rds.force_ssl=1)';
    case 'replication group':
      return `TLS required${t.authToken ? ' + AUTH token' : ''}`;
    case 'global datastore':
      return 'TLS + AUTH, inherited from the Global Datastore primary';
    default:
      return `TLS required (${t.by})`;
  }
}

export function encryptionSection(lines: readonly StoreEncryption[]): Section {
  return {
    id: 'encryption',
    title: 'Encryption at rest and in transit, per store',
    intro:
      'Read from each store resource: its key (`KmsKeyId` resolved to the key and its alias), the key rotation, and how the template enforces TLS (parameter group, bucket or queue policy, domain endpoint options).',
    table: {
      columns: ['Region', 'Store', 'Resource', 'At rest', 'Key rotation', 'In transit'],
      rows: lines.map((e) => [
        e.region,
        STORE_LABEL[e.store],
        e.resource,
        e.atRest ? keyText(e.atRest) : 'NOT ENCRYPTED',
        e.atRest ? rotationText(e.atRest) : '-',
        transitText(e),
      ]),
    },
  };
}
