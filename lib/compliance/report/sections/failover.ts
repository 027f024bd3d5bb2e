/** Failover targets and the modelled RTO / RPO of each region, from its template. */
import type { CfnTemplate, StackArtifact } from '../assembly';
import type { Section } from '../section';
import { byType, props } from '../template';
import type { RegionInfo } from './regions';

/** What an unplanned loss of the region can lose. */
export type Rpo =
  /** No other region of the jurisdiction holds a copy: restore from backups. */
  | { readonly kind: 'restore-from-backups' }
  /** A primary: the lag of the replica the runbook promotes, alarmed above `alarmSeconds`. */
  | { readonly kind: 'replica-lag'; readonly alarmSeconds?: number }
  /** A secondary: writes go to the primary, which keeps them. */
  | { readonly kind: 'none' };

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
  readonly rpo: Rpo;
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

export function failoverOf(
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
      ? { kind: 'restore-from-backups' }
      : me?.tier === 'primary'
        ? { kind: 'replica-lag', ...(lags.length ? { alarmSeconds: Math.max(...lags) } : {}) }
        : { kind: 'none' },
  };
}

// Wording.

/**
 * The failover table's RTO cell, from the line's fields: the traffic part, then what the runbook
 * does after it. With no other region in the jurisdiction there is nothing to promote.
 */
export function rtoCell(f: FailoverLine): string {
  if (!f.traffic) return 'no health check in the template';
  const { detectSeconds: detect, ttlSeconds: ttl } = f.traffic;
  const after = !f.targets.length
    ? '; no target in the jurisdiction: manual intervention'
    : f.runbook
      ? '; then the runbook promotes the target'
      : '';
  return `traffic: detect ${detect} s + DNS TTL ${ttl} s = ${detect + ttl} s${after}`;
}

export function rpoCell(r: Rpo): string {
  switch (r.kind) {
    case 'restore-from-backups':
      return 'no cross-region copy inside the jurisdiction: restore from backups';
    case 'replica-lag':
      return `unplanned: the target's Aurora Global lag, ${r.alarmSeconds !== undefined ? `alarmed above ${r.alarmSeconds} s` : 'not alarmed'}; planned switchover: 0`;
    case 'none':
      return 'writes go to the primary, which holds them: 0 for this region';
  }
}

export function failoverSection(lines: readonly FailoverLine[]): Section {
  return {
    id: 'failover',
    title: 'Failover targets and modelled RTO / RPO',
    intro:
      'Targets are the other regions of the same jurisdiction (the failover lock table is replicated to exactly those). RTO is the traffic part modelled from the health check and record TTL in the template; RPO from the replication-lag alarm.',
    table: {
      columns: ['Region', 'Jurisdiction', 'Failover targets', 'Modelled RTO', 'Modelled RPO'],
      rows: lines.map((f) => [
        f.region,
        f.jurisdiction,
        f.targets.length ? f.targets.join(', ') : 'none',
        rtoCell(f),
        rpoCell(f.rpo),
      ]),
    },
  };
}
