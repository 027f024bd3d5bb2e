/**
 * Replication edges: every way data leaves a region, read from the templates (Aurora global
 * secondaries, Global Datastore members, S3 replication rules, OpenSearch follower rules, secret
 * replicas, DynamoDB global-table replicas and the sync dispatcher's targets).
 */
import type { StackArtifact } from '../assembly';
import type { Section } from '../section';
import { byType, props } from '../template';

/** What travels along an edge, by kind. */
export type EdgeWhat =
  | { readonly kind: 'aurora'; readonly globalCluster: string }
  | { readonly kind: 'cache'; readonly datastore: string }
  | { readonly kind: 's3'; readonly bucket: string; readonly prefix?: string }
  | { readonly kind: 'opensearch'; readonly patterns: readonly string[] }
  | { readonly kind: 'secret'; readonly secret: string }
  | { readonly kind: 'dynamodb'; readonly table: string }
  | { readonly kind: 'sync' };

export type EdgeKind = EdgeWhat['kind'];

/** One replication edge found in a template. */
export type Edge = EdgeWhat & {
  readonly from: string;
  readonly to: string;
  /** Template and logical id that create it. */
  readonly source: string;
};

/** Every replication edge of one template. */
export function edgesOf(s: StackArtifact, all: readonly StackArtifact[]): Edge[] {
  const t = s.template;
  const edges: Edge[] = [];
  const src = (id: string) => `${s.templateFile}#${id}`;
  const regionIn = (text: string) =>
    all
      .map((x) => x.region)
      .filter((r) => text.includes(r))
      .sort((a, b) => b.length - a.length)[0];

  for (const [id, r] of byType(t, 'AWS::RDS::DBCluster')) {
    const g = props(r).GlobalClusterIdentifier;
    if (typeof g !== 'string') continue;
    const primary = all.find((x) =>
      byType(x.template, 'AWS::RDS::GlobalCluster').some(
        ([, gc]) => props(gc).GlobalClusterIdentifier === g,
      ),
    );
    if (primary && primary.region !== s.region)
      edges.push({
        kind: 'aurora',
        globalCluster: g,
        from: primary.region,
        to: s.region,
        source: src(id),
      });
  }
  for (const [id, r] of byType(t, 'AWS::ElastiCache::ReplicationGroup')) {
    const g = props(r).GlobalReplicationGroupId;
    if (typeof g !== 'string') continue;
    const primary = all.find((x) =>
      byType(x.template, 'AWS::ElastiCache::GlobalReplicationGroup').some(([, gr]) =>
        g.endsWith(`-${String(props(gr).GlobalReplicationGroupIdSuffix)}`),
      ),
    );
    if (primary && primary.region !== s.region)
      edges.push({
        kind: 'cache',
        datastore: g,
        from: primary.region,
        to: s.region,
        source: src(id),
      });
  }
  for (const [id, r] of byType(t, 'AWS::S3::Bucket')) {
    const rules =
      ((props(r).ReplicationConfiguration as { Rules?: unknown[] } | undefined)?.Rules as
        | { Filter?: { Prefix?: string }; Prefix?: string; Destination?: { Bucket?: unknown } }[]
        | undefined) ?? [];
    const name = String(props(r).BucketName ?? id);
    const bucket = name.includes('-audit-') ? 'audit' : name.includes('-data-') ? 'data' : name;
    for (const rule of rules) {
      const to = regionIn(JSON.stringify(rule.Destination?.Bucket ?? ''));
      const prefix = rule.Filter?.Prefix ?? rule.Prefix ?? '';
      if (to)
        edges.push({
          kind: 's3',
          bucket,
          ...(prefix ? { prefix } : {}),
          from: s.region,
          to,
          source: src(id),
        });
    }
  }
  for (const [id, r] of byType(t, 'Custom::OpenSearchReplication')) {
    const leader = (props(r).leader as { region?: string } | undefined)?.region;
    const patterns = ((props(r).rules as { pattern?: string }[] | undefined) ?? [])
      .map((x) => String(x.pattern))
      .sort();
    if (leader)
      edges.push({ kind: 'opensearch', patterns, from: leader, to: s.region, source: src(id) });
  }
  for (const [id, r] of byType(t, 'AWS::SecretsManager::Secret')) {
    for (const replica of (props(r).ReplicaRegions as { Region?: string }[] | undefined) ?? [])
      edges.push({
        kind: 'secret',
        secret: id,
        from: s.region,
        to: String(replica.Region),
        source: src(id),
      });
  }
  for (const [id, r] of byType(t, 'AWS::DynamoDB::GlobalTable')) {
    for (const replica of (props(r).Replicas as { Region?: string }[] | undefined) ?? [])
      if (replica.Region && replica.Region !== s.region)
        edges.push({
          kind: 'dynamodb',
          table: String(props(r).TableName ?? id),
          from: s.region,
          to: replica.Region,
          source: src(id),
        });
  }
  for (const [id, r] of byType(t, 'AWS::Lambda::Function')) {
    const env = (props(r).Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const targets = env?.MERIDIAN_TARGET_QUEUES;
    if (typeof targets !== 'string') continue;
    for (const to of Object.keys(JSON.parse(targets) as Record<string, string>).sort())
      edges.push({ kind: 'sync', from: s.region, to, source: src(id) });
  }
  return edges;
}

// Wording.

export const KIND_LABEL: Record<EdgeKind, string> = {
  aurora: 'Aurora Global',
  cache: 'Global Datastore',
  s3: 'S3 replication',
  opensearch: 'OpenSearch CCR',
  secret: 'Secret replica',
  dynamodb: 'DynamoDB global table',
  sync: 'Sync queue',
};

export function whatText(e: EdgeWhat): string {
  switch (e.kind) {
    case 'aurora':
      return `global cluster ${e.globalCluster} (whole database)`;
    case 'cache':
      return `Global Datastore ${e.datastore}`;
    case 's3':
      return `${e.bucket} ${e.prefix ?? '(whole bucket)'}`;
    case 'opensearch':
      return `indices ${e.patterns.join(', ')}`;
    case 'secret':
      return `secret ${e.secret}`;
    case 'dynamodb':
      return `table ${e.table}`;
    case 'sync':
      return 'sync events the plan allows (masked per target)';
  }
}

export const orderEdges = (a: Edge, b: Edge): number =>
  a.kind.localeCompare(b.kind) ||
  a.from.localeCompare(b.from) ||
  a.to.localeCompare(b.to) ||
  whatText(a).localeCompare(whatText(b));

export function edgesSection(edges: readonly Edge[]): Section {
  return {
    id: 'edges',
    title: 'Replication edges',
    intro:
      'The diagram shows where data crosses between jurisdictions: each box is a jurisdiction with its regions and the kinds of copy kept inside it; a red arrow is personal data crossing (its classes, mode and legal basis, from the residency plan); a dashed line joins jurisdictions between which only data that identifies no one crosses. The table lists every edge along which data leaves a region, read from the templates: Aurora global secondaries, Global Datastore members, S3 replication rules, OpenSearch follower rules, secret replicas, DynamoDB global-table replicas and the sync dispatcher targets.',
    diagram: true,
    table: {
      columns: ['Kind', 'From', 'To', 'What', 'Template#resource'],
      rows: edges.map((e) => [KIND_LABEL[e.kind], e.from, e.to, whatText(e), e.source]),
    },
  };
}
