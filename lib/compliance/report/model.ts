/**
 * The compliance report as data, computed from the synthesized templates only (see
 * ./assembly.ts). Every section is sorted, so the same templates always give the same report.
 */
import { ResidencyIndex } from '../../../lambda/shared/residency-plan';
import type { Assembly, CfnResource, CfnTemplate, StackArtifact } from './assembly';

export type EdgeKind = 'aurora' | 'cache' | 's3' | 'opensearch' | 'secret' | 'dynamodb' | 'sync';

/** One replication edge found in a template. */
export interface Edge {
  readonly kind: EdgeKind;
  readonly from: string;
  readonly to: string;
  /** What travels: `all classes`, a prefix, index patterns, a secret… */
  readonly what: string;
  /** Template and logical id that create it. */
  readonly source: string;
}

export interface RegionInfo {
  readonly region: string;
  readonly jurisdiction: string;
  readonly tier: string;
  readonly frameworks: string;
  readonly stack: string;
}

export interface StoreEncryption {
  readonly region: string;
  readonly store: string;
  readonly resource: string;
  readonly atRest: string;
  readonly rotation: string;
  readonly inTransit: string;
}

export interface BackupLine {
  readonly region: string;
  readonly store: string;
  readonly policy: string;
}

export interface SecretLine {
  readonly region: string;
  readonly secret: string;
  readonly key: string;
  readonly replicas: string;
  readonly rotation: string;
}

export interface FailoverLine {
  readonly region: string;
  readonly jurisdiction: string;
  /** The other regions of the jurisdiction (and of the lock table): empty, nothing to promote. */
  readonly targets: readonly string[];
  /**
   * The traffic part of the RTO, from the template: detection (health check interval ×
   * failure threshold) and the records' TTL. Absent when the template has no health check.
   */
  readonly traffic?: { readonly detectSeconds: number; readonly ttlSeconds: number };
  /** Whether the template has the failover runbook (a Step Functions state machine). */
  readonly runbook: boolean;
  readonly rpo: string;
}

export interface AcknowledgementGroup {
  readonly pack: string;
  readonly rule: string;
  readonly reason: string;
  /** Construct paths without the stack name, and the regions where they occur. */
  readonly where: readonly string[];
  readonly regions: readonly string[];
}

export interface ResidencyRow {
  readonly dataClass: string;
  readonly scope: string;
  /** Per region (column order of `regions`): who may have this class there. */
  readonly cells: readonly string[];
}

export interface ComplianceReport {
  readonly regions: readonly RegionInfo[];
  readonly encryption: readonly StoreEncryption[];
  readonly residency: readonly ResidencyRow[];
  readonly planAsset?: string;
  readonly edges: readonly Edge[];
  readonly backups: readonly BackupLine[];
  readonly auditLock: readonly BackupLine[];
  readonly secrets: readonly SecretLine[];
  readonly failover: readonly FailoverLine[];
  readonly acknowledgements: readonly AcknowledgementGroup[];
  readonly pools: Assembly['pools'];
  readonly gaps: readonly string[];
}

type Resources = Record<string, CfnResource>;
const resourcesOf = (t: CfnTemplate): Resources => t.Resources ?? {};
const byType = (t: CfnTemplate, type: string) =>
  Object.entries(resourcesOf(t))
    .filter(([, r]) => r.Type === type)
    .sort(([a], [b]) => a.localeCompare(b));
const props = (r: CfnResource) => r.Properties ?? {};

/** The logical id a `Ref` / `Fn::GetAtt` points at, if the value is one. */
function refTarget(v: unknown): string | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (typeof o.Ref === 'string') return o.Ref;
  const att = o['Fn::GetAtt'];
  if (Array.isArray(att)) return String(att[0]);
  if (typeof att === 'string') return att.split('.')[0];
  return undefined;
}

function tag(r: CfnResource, key: string): string | undefined {
  const tags = props(r).Tags;
  if (Array.isArray(tags))
    return (tags as { Key: string; Value: string }[]).find((t) => t.Key === key)?.Value;
  if (tags && typeof tags === 'object') return (tags as Record<string, string>)[key];
  return undefined;
}

function regionInfo(s: StackArtifact): RegionInfo {
  const tagged = Object.values(resourcesOf(s.template)).find((r) =>
    tag(r, 'meridian:jurisdiction'),
  );
  return {
    region: s.region,
    jurisdiction: (tagged && tag(tagged, 'meridian:jurisdiction')) ?? 'unknown',
    tier: (tagged && tag(tagged, 'meridian:tier')) ?? 'unknown',
    frameworks: (tagged && tag(tagged, 'meridian:compliance')) ?? 'none tagged',
    stack: s.id,
  };
}

/** Describes the key a `KmsKeyId`-like value names, and its rotation. */
function keyOf(t: CfnTemplate, v: unknown): { key: string; rotation: string } {
  if (v === undefined || v === null) return { key: 'AWS owned key', rotation: 'by AWS' };
  const id = refTarget(v);
  const r = id ? resourcesOf(t)[id] : undefined;
  if (r?.Type === 'AWS::KMS::Key') {
    const alias = byType(t, 'AWS::KMS::Alias').find(
      ([, a]) => refTarget(props(a).TargetKeyId) === id,
    );
    const name = alias ? String(props(alias[1]).AliasName) : id;
    const rotates = props(r).EnableKeyRotation === true;
    const days = props(r).RotationPeriodInDays;
    return {
      key: `customer key ${name}`,
      rotation: rotates ? `yearly${days ? ` (${days} d)` : ''}` : 'NOT ROTATED',
    };
  }
  if (typeof v === 'string') return { key: v, rotation: 'see key' };
  return { key: JSON.stringify(v), rotation: 'see key' };
}

/** Whether a policy document denies requests without TLS. */
function deniesPlainText(doc: unknown): boolean {
  const statements = ((doc as { Statement?: unknown[] } | undefined)?.Statement ?? []) as {
    Effect?: string;
    Condition?: { Bool?: Record<string, unknown> };
  }[];
  return statements.some(
    (s) => s.Effect === 'Deny' && String(s.Condition?.Bool?.['aws:SecureTransport']) === 'false',
  );
}

function policiesFor(t: CfnTemplate, policyType: string, field: string, id: string): unknown[] {
  return byType(t, policyType)
    .filter(([, p]) => {
      const target = props(p)[field];
      const list = Array.isArray(target) ? target : [target];
      return list.some((x) => refTarget(x) === id);
    })
    .map(([, p]) => props(p).PolicyDocument);
}

function encryptionOf(s: StackArtifact): StoreEncryption[] {
  const t = s.template;
  const out: StoreEncryption[] = [];
  const push = (
    store: string,
    resource: string,
    keyValue: unknown,
    atRestOn: boolean,
    inTransit: string,
  ) => {
    const k = keyOf(t, keyValue);
    out.push({
      region: s.region,
      store,
      resource,
      atRest: atRestOn ? k.key : 'NOT ENCRYPTED',
      rotation: atRestOn ? k.rotation : '-',
      inTransit,
    });
  };
  for (const [id, r] of byType(t, 'AWS::RDS::DBCluster')) {
    const p = props(r);
    const pg = resourcesOf(t)[refTarget(p.DBClusterParameterGroupName) ?? ''];
    const forced =
      String(
        (props(pg ?? { Type: '' }).Parameters as Record<string, unknown> | undefined)?.[
          'rds.force_ssl'
        ],
      ) === '1';
    push(
      'Aurora PostgreSQL',
      id,
      p.KmsKeyId,
      p.StorageEncrypted === true || typeof p.GlobalClusterIdentifier === 'string',
      forced ? 'TLS required (rds.force_ssl=1)' : 'TLS NOT ENFORCED',
    );
  }
  for (const [id, r] of byType(t, 'AWS::ElastiCache::ReplicationGroup')) {
    const p = props(r);
    const member = typeof p.GlobalReplicationGroupId === 'string';
    const transit =
      p.TransitEncryptionEnabled === true
        ? `TLS required${p.AuthToken !== undefined ? ' + AUTH token' : ''}`
        : member
          ? 'TLS + AUTH, inherited from the Global Datastore primary'
          : 'TLS NOT ENFORCED';
    push('ElastiCache (Valkey/Redis)', id, p.KmsKeyId, p.AtRestEncryptionEnabled === true, transit);
  }
  for (const [id, r] of byType(t, 'AWS::S3::Bucket')) {
    const p = props(r);
    const rule = (
      (p.BucketEncryption as { ServerSideEncryptionConfiguration?: unknown[] } | undefined)
        ?.ServerSideEncryptionConfiguration?.[0] as
        | { ServerSideEncryptionByDefault?: { SSEAlgorithm?: string; KMSMasterKeyID?: unknown } }
        | undefined
    )?.ServerSideEncryptionByDefault;
    const tls = policiesFor(t, 'AWS::S3::BucketPolicy', 'Bucket', id).some(deniesPlainText);
    const inTransit = tls ? 'TLS required (bucket policy)' : 'TLS NOT ENFORCED';
    if (rule?.SSEAlgorithm === 'AES256')
      out.push({
        region: s.region,
        store: 'S3 bucket',
        resource: id,
        atRest: 'SSE-S3 (AWS managed)',
        rotation: 'by AWS',
        inTransit,
      });
    else push('S3 bucket', id, rule?.KMSMasterKeyID, rule !== undefined, inTransit);
  }
  for (const [id, r] of byType(t, 'AWS::OpenSearchService::Domain')) {
    const p = props(r);
    const rest = p.EncryptionAtRestOptions as { Enabled?: boolean; KmsKeyId?: unknown } | undefined;
    const ep = p.DomainEndpointOptions as
      | { EnforceHTTPS?: boolean; TLSSecurityPolicy?: string }
      | undefined;
    const n2n = (p.NodeToNodeEncryptionOptions as { Enabled?: boolean } | undefined)?.Enabled;
    push(
      'OpenSearch domain',
      id,
      rest?.KmsKeyId,
      rest?.Enabled === true,
      `${ep?.EnforceHTTPS ? `HTTPS required (${ep.TLSSecurityPolicy ?? 'default policy'})` : 'HTTPS NOT ENFORCED'}; node-to-node ${n2n ? 'encrypted' : 'NOT ENCRYPTED'}`,
    );
  }
  for (const [id, r] of byType(t, 'AWS::SQS::Queue')) {
    const p = props(r);
    const tls = policiesFor(t, 'AWS::SQS::QueuePolicy', 'Queues', id).some(deniesPlainText);
    push(
      'SQS queue',
      id,
      p.KmsMasterKeyId,
      p.KmsMasterKeyId !== undefined || p.SqsManagedSseEnabled === true,
      tls ? 'TLS required (queue policy)' : 'HTTPS API (TLS not enforced by policy)',
    );
  }
  for (const [id, r] of byType(t, 'AWS::DynamoDB::GlobalTable')) {
    const sse = props(r).SSESpecification as { SSEEnabled?: boolean; SSEType?: string } | undefined;
    out.push({
      region: s.region,
      store: 'DynamoDB global table',
      resource: id,
      atRest: sse?.SSEEnabled ? `SSE ${sse.SSEType ?? 'KMS'} (AWS managed key)` : 'AWS owned key',
      rotation: 'by AWS',
      inTransit: 'HTTPS API',
    });
  }
  for (const [id, r] of byType(t, 'AWS::SNS::Topic')) {
    const p = props(r);
    push('SNS topic', id, p.KmsMasterKeyId, p.KmsMasterKeyId !== undefined, 'HTTPS API');
  }
  return out;
}

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
        from: primary.region,
        to: s.region,
        what: `global cluster ${g} (whole database)`,
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
        from: primary.region,
        to: s.region,
        what: `Global Datastore ${g}`,
        source: src(id),
      });
  }
  for (const [id, r] of byType(t, 'AWS::S3::Bucket')) {
    const rules =
      ((props(r).ReplicationConfiguration as { Rules?: unknown[] } | undefined)?.Rules as
        | { Filter?: { Prefix?: string }; Prefix?: string; Destination?: { Bucket?: unknown } }[]
        | undefined) ?? [];
    const bucket = String(props(r).BucketName ?? id);
    for (const rule of rules) {
      const to = regionIn(JSON.stringify(rule.Destination?.Bucket ?? ''));
      const prefix = rule.Filter?.Prefix ?? rule.Prefix ?? '';
      if (to)
        edges.push({
          kind: 's3',
          from: s.region,
          to,
          what: `${bucket.includes('-audit-') ? 'audit' : bucket.includes('-data-') ? 'data' : bucket} ${prefix || '(whole bucket)'}`,
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
      edges.push({
        kind: 'opensearch',
        from: leader,
        to: s.region,
        what: `indices ${patterns.join(', ')}`,
        source: src(id),
      });
  }
  for (const [id, r] of byType(t, 'AWS::SecretsManager::Secret')) {
    for (const replica of (props(r).ReplicaRegions as { Region?: string }[] | undefined) ?? [])
      edges.push({
        kind: 'secret',
        from: s.region,
        to: String(replica.Region),
        what: `secret ${id}`,
        source: src(id),
      });
  }
  for (const [id, r] of byType(t, 'AWS::DynamoDB::GlobalTable')) {
    for (const replica of (props(r).Replicas as { Region?: string }[] | undefined) ?? [])
      if (replica.Region && replica.Region !== s.region)
        edges.push({
          kind: 'dynamodb',
          from: s.region,
          to: replica.Region,
          what: `table ${String(props(r).TableName ?? id)}`,
          source: src(id),
        });
  }
  for (const [id, r] of byType(t, 'AWS::Lambda::Function')) {
    const env = (props(r).Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    const targets = env?.MERIDIAN_TARGET_QUEUES;
    if (typeof targets !== 'string') continue;
    for (const to of Object.keys(JSON.parse(targets) as Record<string, string>).sort())
      edges.push({
        kind: 'sync',
        from: s.region,
        to,
        what: 'sync events the plan allows (masked per target)',
        source: src(id),
      });
  }
  return edges;
}

function backupsOf(s: StackArtifact): { backups: BackupLine[]; locks: BackupLine[] } {
  const t = s.template;
  const backups: BackupLine[] = [];
  const locks: BackupLine[] = [];
  const line = (store: string, policy: string) => backups.push({ region: s.region, store, policy });
  for (const [id, r] of byType(t, 'AWS::RDS::DBCluster')) {
    const p = props(r);
    line(
      `Aurora ${id}`,
      `automated backups ${p.BackupRetentionPeriod ?? 1} d; deletion protection ${p.DeletionProtection === true ? 'on' : 'OFF'}`,
    );
  }
  for (const [id, r] of byType(t, 'AWS::ElastiCache::ReplicationGroup'))
    line(`ElastiCache ${id}`, `snapshots kept ${props(r).SnapshotRetentionLimit ?? 0} d`);
  for (const [, r] of byType(t, 'AWS::Backup::BackupPlan')) {
    const plan = props(r).BackupPlan as
      | {
          BackupPlanRule?: {
            RuleName?: string;
            ScheduleExpression?: string;
            Lifecycle?: { DeleteAfterDays?: number };
            CopyActions?: { DestinationBackupVaultArn?: unknown }[];
          }[];
        }
      | undefined;
    for (const rule of plan?.BackupPlanRule ?? [])
      line(
        `AWS Backup rule ${rule.RuleName}`,
        `${rule.ScheduleExpression}, kept ${rule.Lifecycle?.DeleteAfterDays ?? '∞'} d${rule.CopyActions?.length ? `; copies to ${rule.CopyActions.length} vault(s)` : '; no cross-region copy'}`,
      );
  }
  for (const [id, r] of byType(t, 'AWS::S3::Bucket')) {
    const p = props(r);
    const versioning = (p.VersioningConfiguration as { Status?: string } | undefined)?.Status;
    const rules = ((p.LifecycleConfiguration as { Rules?: unknown[] } | undefined)?.Rules ??
      []) as {
      ExpirationInDays?: number;
      NoncurrentVersionExpiration?: { NoncurrentDays?: number };
      Transitions?: { StorageClass?: string; TransitionInDays?: number }[];
    }[];
    const parts = rules.flatMap((x) => [
      ...(x.Transitions ?? []).map((tr) => `to ${tr.StorageClass} after ${tr.TransitionInDays} d`),
      ...(x.ExpirationInDays ? [`expires after ${x.ExpirationInDays} d`] : []),
      ...(x.NoncurrentVersionExpiration
        ? [`old versions expire after ${x.NoncurrentVersionExpiration.NoncurrentDays} d`]
        : []),
    ]);
    line(
      `S3 ${String(p.BucketName ?? id)}`,
      `versioning ${versioning === 'Enabled' ? 'on' : 'OFF'}${parts.length ? `; ${parts.join(', ')}` : ''}`,
    );
    if (p.ObjectLockEnabled === true) {
      const rule = (
        p.ObjectLockConfiguration as
          | { Rule?: { DefaultRetention?: { Mode?: string; Days?: number; Years?: number } } }
          | undefined
      )?.Rule?.DefaultRetention;
      locks.push({
        region: s.region,
        store: `S3 ${String(p.BucketName ?? id)}`,
        policy: rule
          ? `Object Lock ${rule.Mode} mode, ${rule.Days ? `${rule.Days} days` : `${rule.Years} years`}`
          : 'Object Lock on, no default retention',
      });
    }
  }
  for (const [id, r] of byType(t, 'AWS::DynamoDB::GlobalTable')) {
    const pitr = ((props(r).Replicas as
      | { PointInTimeRecoverySpecification?: { PointInTimeRecoveryEnabled?: boolean } }[]
      | undefined) ?? [])[0]?.PointInTimeRecoverySpecification?.PointInTimeRecoveryEnabled;
    line(`DynamoDB ${id}`, `point-in-time recovery ${pitr ? 'on (35 d)' : 'OFF'}`);
  }
  return { backups, locks };
}

function secretsOf(s: StackArtifact): SecretLine[] {
  const t = s.template;
  const rotations = byType(t, 'AWS::SecretsManager::RotationSchedule').map(([, r]) => ({
    secret: refTarget(props(r).SecretId),
    days: props(r).RotationRules as
      | { AutomaticallyAfterDays?: number; ScheduleExpression?: string }
      | undefined,
  }));
  return byType(t, 'AWS::SecretsManager::Secret').map(([id, r]) => {
    const p = props(r);
    const rot = rotations.find((x) => x.secret === id);
    const replicas = ((p.ReplicaRegions as { Region?: string }[] | undefined) ?? []).map((x) =>
      String(x.Region),
    );
    return {
      region: s.region,
      secret: String(p.Name ?? id),
      key: keyOf(t, p.KmsKeyId).key,
      replicas: replicas.length ? replicas.sort().join(', ') : 'none (this region only)',
      rotation: rot?.days?.AutomaticallyAfterDays
        ? `every ${rot.days.AutomaticallyAfterDays} days`
        : rot?.days?.ScheduleExpression
          ? `on ${rot.days.ScheduleExpression}`
          : 'not rotated',
    };
  });
}

/** The replication-lag alarm threshold of a template, in seconds. */
function lagAlarmSeconds(t: CfnTemplate): number | undefined {
  const lag = byType(t, 'AWS::CloudWatch::Alarm')
    .map(([, r]) => props(r))
    .find((p) => /critical-replication-lag$/.test(String(p.AlarmName)));
  if (!lag) return undefined;
  // AuroraGlobalDBReplicationLag is in milliseconds.
  const ms = String(lag.MetricName) === 'AuroraGlobalDBReplicationLag';
  return Number(lag.Threshold) / (ms ? 1000 : 1);
}

function failoverOf(
  s: StackArtifact,
  regions: readonly RegionInfo[],
  all: readonly StackArtifact[],
): FailoverLine {
  const t = s.template;
  const me = regions.find((r) => r.region === s.region);
  const lock = byType(t, 'AWS::DynamoDB::GlobalTable')[0];
  const lockRegions = lock
    ? ((props(lock[1]).Replicas as { Region?: string }[] | undefined) ?? []).map((x) =>
        String(x.Region),
      )
    : [];
  const cell = regions
    .filter((r) => r.jurisdiction === me?.jurisdiction && r.region !== s.region)
    .map((r) => r.region);
  const targets = [...new Set([...cell, ...lockRegions.filter((r) => r !== s.region)])].sort();
  const check = byType(t, 'AWS::Route53::HealthCheck')
    .map(([, r]) => props(r).HealthCheckConfig as Record<string, unknown> | undefined)
    .find((c) => c?.RequestInterval !== undefined);
  const ttl = Math.max(
    0,
    ...byType(t, 'AWS::Route53::RecordSet').map(([, r]) => Number(props(r).TTL ?? 0)),
  );
  const detect = check ? Number(check.RequestInterval) * Number(check.FailureThreshold ?? 3) : NaN;
  // What an unplanned failover can lose: the lag of the replica it promotes.
  const lags = targets
    .map((r) => all.find((x) => x.region === r))
    .map((x) => (x ? lagAlarmSeconds(x.template) : undefined))
    .filter((x): x is number => x !== undefined);
  return {
    region: s.region,
    jurisdiction: me?.jurisdiction ?? 'unknown',
    targets,
    ...(Number.isNaN(detect) ? {} : { traffic: { detectSeconds: detect, ttlSeconds: ttl } }),
    runbook: byType(t, 'AWS::StepFunctions::StateMachine').length > 0,
    rpo: !targets.length
      ? 'no cross-region copy inside the jurisdiction: restore from backups'
      : me?.tier === 'primary'
        ? `unplanned: the target's Aurora Global lag, ${lags.length ? `alarmed above ${Math.max(...lags)} s` : 'not alarmed'}; planned switchover: 0`
        : 'writes go to the primary, which holds them: 0 for this region',
  };
}

function acknowledgementsOf(stacks: readonly StackArtifact[]): AcknowledgementGroup[] {
  const groups = new Map<
    string,
    { pack: string; rule: string; reason: string; where: Set<string>; regions: Set<string> }
  >();
  for (const s of stacks)
    for (const a of s.acknowledged) {
      const [pack = '', ruleId = ''] = a.id.split('::');
      const rule = ruleId.replace(/\[.*$/, '');
      const key = `${pack}\u0000${rule}\u0000${a.reason}`;
      const g = groups.get(key) ?? {
        pack,
        rule,
        reason: a.reason,
        where: new Set(),
        regions: new Set(),
      };
      const detail = /\[(.*)\]$/.exec(ruleId)?.[1];
      g.where.add(`${a.constructPath.replace(/^[^/]+\//, '')}${detail ? ` [${detail}]` : ''}`);
      g.regions.add(s.region);
      groups.set(key, g);
    }
  return [...groups.values()]
    .map((g) => ({
      pack: g.pack,
      rule: g.rule,
      reason: g.reason,
      where: [...g.where].sort(),
      regions: [...g.regions].sort(),
    }))
    .sort(
      (a, b) =>
        a.pack.localeCompare(b.pack) ||
        a.rule.localeCompare(b.rule) ||
        a.reason.localeCompare(b.reason),
    );
}

function residencyOf(a: Assembly, regions: readonly RegionInfo[]): ResidencyRow[] {
  if (!a.plan) return [];
  const index = new ResidencyIndex(a.plan);
  return a.plan.dataClasses.map((c) => ({
    dataClass: c.id,
    scope: c.scope,
    cells: regions.map((r) => {
      const own = r.jurisdiction;
      const others = new Map<string, Set<string>>();
      for (const from of regions) {
        if (from.jurisdiction === own) continue;
        const d = index.decide(c.id, from.region, r.region);
        if (!d.allowed) continue;
        const set = others.get(d.mode) ?? new Set<string>();
        set.add(from.jurisdiction);
        others.set(d.mode, set);
      }
      const full = [...(others.get('full') ?? [])].sort();
      const masked = [...(others.get('masked') ?? [])].filter((j) => !full.includes(j)).sort();
      return [own, ...full, ...(masked.length ? [`masked: ${masked.join(' ')}`] : [])].join(' · ');
    }),
  }));
}

function gapsOf(r: Omit<ComplianceReport, 'gaps'>): string[] {
  const gaps: string[] = [];
  const byJ = new Map<string, string[]>();
  for (const x of r.regions)
    byJ.set(x.jurisdiction, [...(byJ.get(x.jurisdiction) ?? []), x.region]);
  const single = new Set<string>();
  for (const [j, rs] of [...byJ.entries()].sort())
    if (rs.length < 2) {
      for (const x of rs) single.add(x);
      gaps.push(
        `Jurisdiction ${j} has one region (${rs.join(', ')}): no cross-region DR inside it; recovery is from backups in the same region.`,
      );
    }
  // The same finding in several regions is one line naming the regions.
  const grouped = new Map<string, Set<string>>();
  const add = (what: string, region: string) =>
    grouped.set(what, (grouped.get(what) ?? new Set()).add(region));
  for (const e of r.encryption) {
    if (/NOT/.test(`${e.atRest} ${e.rotation} ${e.inTransit}`))
      add(
        `${e.store} ${e.resource}: ${e.atRest}; rotation ${e.rotation}; ${e.inTransit}`,
        e.region,
      );
    else if (/SSE-S3|AWS owned|AWS managed/.test(e.atRest))
      add(
        `${e.store} ${e.resource} is encrypted with ${e.atRest}, not the region's customer key`,
        e.region,
      );
  }
  for (const x of r.secrets)
    if (x.rotation === 'not rotated')
      add(
        `Secret ${/AuroraClusterSecret/.test(x.secret) ? 'AuroraClusterSecret (Aurora master credentials)' : x.secret} is not rotated`,
        x.region,
      );
  for (const b of r.backups)
    if (/no cross-region copy/.test(b.policy) && single.has(b.region))
      add(
        `${b.store}: backups stay in the region, the only copy of its jurisdiction's data`,
        b.region,
      );
  for (const [what, regions] of [...grouped.entries()].sort(([a], [b]) => a.localeCompare(b)))
    gaps.push(
      `${what} (${regions.size === r.regions.length ? 'every region' : [...regions].sort().join(', ')}).`,
    );
  if (!r.residency.length)
    gaps.push(
      'No residency plan found in the assembly (plan layer asset missing): the matrix is empty.',
    );
  return gaps;
}

const orderEdges = (a: Edge, b: Edge) =>
  a.kind.localeCompare(b.kind) ||
  a.from.localeCompare(b.from) ||
  a.to.localeCompare(b.to) ||
  a.what.localeCompare(b.what);

/** The whole report from an assembly. */
export function buildReport(a: Assembly): ComplianceReport {
  const regions = a.stacks.map(regionInfo).sort((x, y) => x.region.localeCompare(y.region));
  const stacks = [...a.stacks].sort((x, y) => x.region.localeCompare(y.region));
  const backups = stacks.map(backupsOf);
  const partial = {
    regions,
    encryption: stacks.flatMap(encryptionOf),
    residency: residencyOf(a, regions),
    planAsset: a.planAsset,
    edges: stacks.flatMap((s) => edgesOf(s, stacks)).sort(orderEdges),
    backups: backups.flatMap((b) => b.backups),
    auditLock: backups.flatMap((b) => b.locks),
    secrets: stacks.flatMap(secretsOf),
    failover: stacks.map((s) => failoverOf(s, regions, stacks)),
    acknowledgements: acknowledgementsOf(stacks),
    pools: a.pools,
  };
  return { ...partial, gaps: gapsOf(partial) };
}
