/**
 * A record's journey from audit objects alone: every dispatch and apply object that mentions the
 * record (by event id, or by entity token for every event of one entity), as steps in time order,
 * and where each copy is now. Pure: the objects come from `aws s3 sync` of the audit buckets, from
 * Athena, or from a test's fake S3.
 */
import type { Hop, HopOutcome, LineageRecord } from '../../lambda/shared/sync/lineage';

/** An audit object as sync writes it (lambda/shared/sync/aws.ts writeAudit); fields it needs. */
export interface AuditObject {
  readonly kind: string;
  readonly region: string;
  readonly correlationId: string;
  readonly at: string;
  readonly records?: readonly LineageRecord[];
}

export interface JourneyStep {
  readonly at: string;
  readonly stage: 'dispatch' | 'apply';
  /** The region whose audit bucket holds the object. */
  readonly region: string;
  /** The run (the object's correlation id). */
  readonly run: string;
  readonly record: LineageRecord;
  readonly hop: Hop;
}

/** What the query names: one event, or every event of an entity (its lineage token). */
export type JourneyQuery = { readonly eventId: string } | { readonly entity: string };

const STAGE_ORDER = { dispatch: 0, apply: 1 } as const;

/** Reads a parsed JSON value as an audit object; undefined for anything else. */
export function asAuditObject(x: unknown): AuditObject | undefined {
  const o = x as Partial<AuditObject> | null;
  return o &&
    typeof o === 'object' &&
    typeof o.kind === 'string' &&
    typeof o.region === 'string' &&
    typeof o.at === 'string' &&
    typeof o.correlationId === 'string'
    ? (o as AuditObject)
    : undefined;
}

export function journeyOf(objects: readonly AuditObject[], q: JourneyQuery): JourneyStep[] {
  const all = objects.flatMap((o) =>
    o.kind === 'dispatch' || o.kind === 'apply'
      ? (o.records ?? []).map((record) => ({ o, stage: o.kind as 'dispatch' | 'apply', record }))
      : [],
  );
  const events =
    'eventId' in q
      ? new Set([q.eventId])
      : new Set(all.filter((x) => x.record.entity === q.entity).map((x) => x.record.eventId));
  return all
    .filter((x) => events.has(x.record.eventId))
    .flatMap(({ o, stage, record }) =>
      record.hops.map((hop) => ({
        at: o.at,
        stage,
        region: o.region,
        run: o.correlationId,
        record,
        hop,
      })),
    )
    .sort(
      (a, b) =>
        a.at.localeCompare(b.at) ||
        STAGE_ORDER[a.stage] - STAGE_ORDER[b.stage] ||
        a.hop.target.localeCompare(b.hop.target),
    );
}

/** Where each event is now, region by region: the last word on it there. */
export function whereNow(
  steps: readonly JourneyStep[],
): { eventId: string; region: string; outcome: HopOutcome; reason?: string }[] {
  const last = new Map<string, JourneyStep>();
  for (const s of steps) {
    // What the target's apply said outranks the sender's word (`sent` is not yet a copy).
    const k = `${s.record.eventId}|${s.hop.target}`;
    if (s.stage === 'apply' || last.get(k)?.stage !== 'apply') last.set(k, s);
  }
  return [...last.values()]
    .map((s) => ({
      eventId: s.record.eventId,
      region: s.hop.target,
      outcome: s.hop.outcome,
      ...(s.hop.reason ? { reason: s.hop.reason } : {}),
    }))
    .sort((a, b) => a.eventId.localeCompare(b.eventId) || a.region.localeCompare(b.region));
}

/** The journey as a reviewer reads it: one line per hop, then where each copy is now. */
export function renderJourney(steps: readonly JourneyStep[]): string {
  if (steps.length === 0) return 'No audit object mentions it.\n';
  const lines: string[] = [];
  for (const s of steps) {
    const h = s.hop;
    const how = [
      h.decision === 'allowed' ? `allowed by ${h.rule}` : `refused: ${h.rule}`,
      h.basis ? `basis ${h.basis}` : '',
      h.mode === 'masked' ? `masked [${h.maskedFields.join(', ')}]` : (h.mode ?? ''),
    ]
      .filter(Boolean)
      .join('; ');
    const where =
      s.stage === 'dispatch'
        ? `${s.region} → ${h.target}`
        : `${h.target} ← ${s.record.sourceRegion}`;
    lines.push(
      `${s.at}  ${s.stage.padEnd(8)} ${s.record.eventId}  ${s.record.dataClass} ${s.record.op}  ${where}  ${h.outcome}${h.forwardedTo ? ` to ${h.forwardedTo}` : ''}${h.reason ? ` (${h.reason})` : ''}  [${how}]  run ${s.run}${s.record.correlationId && s.record.correlationId !== s.run ? ` from ${s.record.correlationId}` : ''}`,
    );
  }
  lines.push('', 'Where it is now:');
  for (const w of whereNow(steps))
    lines.push(`  ${w.eventId}  ${w.region}: ${w.outcome}${w.reason ? ` (${w.reason})` : ''}`);
  return `${lines.join('\n')}\n`;
}
