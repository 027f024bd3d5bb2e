import * as fs from 'node:fs';
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import type { ResidencyIndex } from '../../lambda/shared/residency-plan';
import { GLOBAL_DATASTORE_PREFIX } from '../cache/global-datastore-membership';
import type { Naming } from '../naming';

/** A replication edge found in a template that the residency plan does not allow. */
export interface GuardFinding {
  readonly logicalId: string;
  /** e.g. `S3 data eu-west-1 → us-east-1 (prefix pii/)` */
  readonly edge: string;
  readonly reason: string;
}

type Resources = Record<string, { Type: string; Properties?: Record<string, unknown> }>;

/**
 * Reads a synthesized template of `region` and returns every replication edge in it that the
 * residency plan does not allow. It looks at what will be deployed, not at how it was built, so a
 * hand-written override or a future construct that forgets the plan is caught too.
 */
export function checkTemplate(
  index: ResidencyIndex,
  naming: Naming,
  region: string,
  template: { Resources?: Resources },
): GuardFinding[] {
  const classes = index.plan.dataClasses.map((c) => c.id);
  const findings: GuardFinding[] = [];

  for (const [logicalId, r] of Object.entries(template.Resources ?? {})) {
    const props = r.Properties ?? {};
    if (r.Type === 'AWS::RDS::DBCluster' && typeof props.GlobalClusterIdentifier === 'string') {
      const id = props.GlobalClusterIdentifier;
      const cell = index.plan.cells.find((c) => naming.cell(c.jurisdiction) === id);
      const edge = `Aurora global cluster ${id} → ${region}`;
      if (!cell) {
        findings.push({ logicalId, edge, reason: `no jurisdiction cell is named ${id}` });
      } else if (
        cell.primary !== region &&
        !index.fullReplicaTargets(cell.primary, classes).includes(region)
      ) {
        findings.push({
          logicalId,
          edge,
          reason: `the plan does not allow every class of ${cell.primary}'s database into ${region}`,
        });
      }
    }
    if (
      r.Type === 'AWS::ElastiCache::ReplicationGroup' &&
      typeof props.GlobalReplicationGroupId === 'string'
    ) {
      const id = props.GlobalReplicationGroupId;
      const [datastorePrefix, ...rest] = id.split('-');
      const primary = Object.entries(GLOBAL_DATASTORE_PREFIX).find(
        ([, p]) => p === datastorePrefix,
      )?.[0];
      const edge = `Cache Global Datastore ${id} → ${region}`;
      if (!primary || !index.plan.regions.some((x) => x.id === primary)) {
        findings.push({
          logicalId,
          edge,
          reason: `${datastorePrefix} is the prefix of no Meridian region`,
        });
      } else if (naming.cell(index.cellOf(primary)?.jurisdiction ?? '') !== rest.join('-')) {
        findings.push({
          logicalId,
          edge,
          reason: `the datastore is not the cell datastore of ${primary}`,
        });
      } else if (!index.fullReplicaTargets(primary, classes).includes(region)) {
        findings.push({
          logicalId,
          edge,
          reason: `the plan does not allow every cached class of ${primary} into ${region}`,
        });
      }
    }
    if (r.Type === 'AWS::SecretsManager::Secret' && Array.isArray(props.ReplicaRegions)) {
      // Secrets (credentials, pseudonymisation keys) never leave their region's jurisdiction.
      const home = index.jurisdictionOf(region);
      for (const replica of props.ReplicaRegions as { Region?: unknown }[]) {
        const to = String(replica.Region);
        const there = index.jurisdictionOf(to);
        if (there !== home)
          findings.push({
            logicalId,
            edge: `Secrets Manager replica ${region} → ${to}`,
            reason: `a secret of ${home} may not be replicated to ${to} (${there ?? 'unknown region'})`,
          });
      }
    }
    if (r.Type === 'Custom::OpenSearchReplication') {
      const leader = String((props.leader as { region?: unknown } | undefined)?.region ?? '');
      const target = index.plan.regions.find((x) => x.id === region)?.jurisdiction;
      for (const rule of (props.rules as { pattern?: string }[] | undefined) ?? []) {
        const pattern = String(rule.pattern);
        const edge = `OpenSearch ${leader} → ${region} (indices ${pattern})`;
        const masked = /^masked-([a-z0-9]+)-([a-z0-9]+)-\*$/.exec(pattern);
        const full = /^([a-z0-9]+)-\*$/.exec(pattern);
        const cls = masked?.[2] ?? full?.[1];
        if (!cls) {
          findings.push({
            logicalId,
            edge,
            reason: 'the pattern is not <class>-* or masked-<jurisdiction>-<class>-*',
          });
          continue;
        }
        const d = index.decide(cls, leader, region);
        if (!d.allowed) findings.push({ logicalId, edge, reason: d.reason });
        else if (full && d.mode !== 'full')
          findings.push({ logicalId, edge, reason: `${cls} may only go masked` });
        else if (masked && masked[1] !== target) {
          findings.push({
            logicalId,
            edge,
            reason: `masked projections for ${masked[1]} must not go to ${region} (${target})`,
          });
        }
      }
    }
    if (r.Type === 'AWS::S3::Bucket') {
      const purpose = naming.parseBucket(String(props.BucketName))?.purpose ?? 'unknown';
      const rules =
        ((props.ReplicationConfiguration as { Rules?: unknown[] } | undefined)?.Rules as {
          Filter?: { Prefix?: string };
          Prefix?: string;
          Destination?: { Bucket?: unknown };
        }[]) ?? [];
      for (const rule of rules) {
        const to = naming.parseBucket(JSON.stringify(rule.Destination?.Bucket))?.region;
        const keyPrefix = rule.Filter?.Prefix ?? rule.Prefix ?? '';
        const edge = `S3 ${purpose} ${region} → ${to ?? 'unknown bucket'}${keyPrefix ? ` (prefix ${keyPrefix})` : ' (whole bucket)'}`;
        if (!to) {
          findings.push({
            logicalId,
            edge,
            reason: 'destination is not a Meridian bucket of a known region',
          });
          continue;
        }
        const reason = s3RuleProblem(index, classes, purpose, keyPrefix, region, to);
        if (reason) findings.push({ logicalId, edge, reason });
      }
    }
  }
  return findings;
}

function s3RuleProblem(
  index: ResidencyIndex,
  classes: readonly string[],
  purpose: string,
  keyPrefix: string,
  from: string,
  to: string,
): string | undefined {
  const full = (c: string) => {
    const d = index.decide(c, from, to);
    return d.allowed ? (d.mode === 'full' ? undefined : `${c} may only go masked`) : d.reason;
  };
  if (purpose !== 'data' || keyPrefix === '') {
    // Audit buckets and whole-bucket rules may hold any class: every class must be allowed in full.
    return classes.map(full).find((x) => x !== undefined);
  }
  const masked = /^masked\/([^/]+)\/([^/]+)\/$/.exec(keyPrefix);
  if (masked) {
    const [, jurisdiction, cls] = masked as unknown as [string, string, string];
    const d = index.decide(cls, from, to);
    const target = index.plan.regions.find((r) => r.id === to)?.jurisdiction;
    if (!d.allowed) return d.reason;
    if (jurisdiction !== target)
      return `masked projections for ${jurisdiction} must not go to ${to} (${target})`;
    return undefined;
  }
  const cls = /^([^/]+)\/$/.exec(keyPrefix)?.[1];
  if (!cls) return `prefix ${keyPrefix} is not <class>/ or masked/<jurisdiction>/<class>/`;
  return full(cls);
}

/**
 * Synth-time residency guard: runs after the templates are written and fails synth on any
 * replication edge (Aurora secondary, cache Global Datastore member, OpenSearch follower, S3
 * destination) the residency
 * plan does not allow.
 */
export class ResidencyGuard implements IPolicyValidationPlugin {
  readonly name = 'Meridian-ResidencyGuard';

  constructor(
    private readonly index: ResidencyIndex,
    private readonly naming: Naming,
  ) {}

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const violations: PolicyViolation[] = [];
    for (const stack of context.stackTemplates) {
      if (!stack.region) continue;
      const template = JSON.parse(fs.readFileSync(stack.templatePath, 'utf8')) as {
        Resources?: Resources;
      };
      for (const f of checkTemplate(this.index, this.naming, stack.region, template)) {
        violations.push({
          ruleName: 'Meridian-ResidencyGuard',
          description: `${f.edge} is not allowed by the residency plan: ${f.reason}`,
          fix: 'Take replication edges from the residency plan (lambda/shared/residency-plan.ts); change regions/ if the policy itself must change.',
          severity: 'error',
          violatingResources: [
            {
              resourceLogicalId: f.logicalId,
              templatePath: stack.templatePath,
              locations: ['Properties'],
            },
          ],
        });
      }
    }
    return { success: violations.length === 0, violations };
  }
}
