/**
 * `npm run drill -- --dsr <erase|access> --jurisdiction <j>`: one subject's request, drilled
 * offline on the synthesized machine (./world.ts). A made-up subject (`customer:drill-subject`,
 * fictitious values) is put where the plan lets its personal class go, the machine runs, the
 * followers catch up, and the drill reports what the request record says and what is left of the
 * subject anywhere.
 */
import { randomUUID } from 'node:crypto';
import type { RequestRecord } from '../../../lambda/shared/dsr/relay';
import { entityRef, personalClasses } from '../../../lambda/shared/dsr/subject';
import type { ResidencyIndex } from '../../../lambda/shared/residency-plan';
import type { MeridianConfig } from '../../config/load';
import type { DrillResult } from '../../failover/drill/run';
import { dsrPlan } from '../plan';
import { SubjectRequestWorld } from './world';

export const DRILL_SUBJECT = 'customer:drill-subject';

export interface SubjectRequestDrillResult {
  readonly machine: string;
  readonly result: DrillResult;
  readonly record?: RequestRecord;
  /** Where the subject is still found after the run (erase: none, or the drill failed). */
  readonly left: readonly string[];
  /** Invokes per region, in order. */
  readonly invoked: readonly string[];
  /** Whether the run did what the action promises. */
  readonly ok: boolean;
}

export async function runSubjectRequestDrill(
  config: MeridianConfig,
  index: ResidencyIndex,
  o: { action: 'erase' | 'access'; jurisdiction: string; down?: readonly string[] },
): Promise<SubjectRequestDrillResult> {
  const plan = dsrPlan(config, index, {
    action: o.action,
    jurisdiction: o.jurisdiction,
    entities: [entityRef(DRILL_SUBJECT)],
    requestId: randomUUID(),
    now: new Date(),
  });
  const world = await SubjectRequestWorld.open(config, index, o.jurisdiction);
  try {
    const home = world.cells[0]?.regions[0]?.region ?? '';
    const dataClass = personalClasses(index)[0] ?? 'pii';
    const { entityType, entityKey } = entityRef(DRILL_SUBJECT);
    await world.seed(
      {
        eventId: randomUUID(),
        entityType,
        entityKey,
        dataClass,
        homeRegion: home,
        originRegion: home,
        hlc: { wall: Date.now() - 60_000, logical: 0 },
        op: 'upsert',
        payload: { name: 'Drill Subject', email: 'drill.subject@example.invalid' },
      },
      { name: 'pz_drill_name', email: 'pz_drill_email' },
    );
    for (const r of o.down ?? []) world.down.set(r, Number.POSITIVE_INFINITY);
    const result = await world.run(
      { request: plan.request, deadline: plan.deadline.toISOString() },
      `drill-${plan.request.requestId}`,
    );
    world.search.replicate();
    const record = (result.output ?? (world.alerts[0] as object | undefined)) as
      | RequestRecord
      | undefined;
    const left = o.action === 'erase' ? await world.traces(entityRef(DRILL_SUBJECT)) : [];
    return {
      machine: world.machine.stateMachine,
      result,
      ...(record ? { record } : {}),
      left,
      invoked: [...world.invoked],
      ok: result.status === 'SUCCEEDED' && record?.outcome === 'complete' && left.length === 0,
    };
  } finally {
    await world.close();
  }
}

/** The drill's report, as an engineer or a reviewer reads it. */
export function subjectRequestDrillReport(
  o: { action: string; jurisdiction: string },
  d: SubjectRequestDrillResult,
): string {
  const r = d.result;
  return [
    `Subject-request drill: ${o.action} of ${DRILL_SUBJECT} (jurisdiction ${o.jurisdiction})`,
    '',
    'Timeline (state entered, ms from start):',
    ...r.events
      .filter((e) => e.type !== 'exited')
      .map(
        (e) =>
          `  ${String(e.at - r.startedAt).padStart(6)} ms  ${e.type === 'entered' ? '' : `${e.type}: `}${e.state}`,
      ),
    '',
    'Request record:',
    ...(d.record?.cells ?? []).flatMap((c) => [
      `  cell ${c.cell}${c.writer ? ` (writer ${c.writer})` : ''}`,
      ...c.regions.map(
        (x) =>
          `    ${x.region}: ${x.outcome}${x.database ? `, database ${x.database}` : ''}${x.error ? ` (${x.error})` : ''}${x.exports !== undefined ? `, ${x.exports} export(s)` : ''}`,
      ),
    ]),
    `  gaps: ${d.record?.gaps.length ? '' : 'none'}`,
    ...(d.record?.gaps ?? []).map((g) => `    ${g}`),
    ...(o.action === 'erase'
      ? [
          '',
          'Left of the subject anywhere, once replication caught up:',
          ...(d.left.length ? d.left.map((l) => `  ${l}`) : ['  nothing']),
        ]
      : []),
    '',
    `Outcome: ${r.status === 'SUCCEEDED' ? String(d.record?.outcome) : `FAILED (${r.errorName})`}`,
    '',
  ].join('\n');
}
