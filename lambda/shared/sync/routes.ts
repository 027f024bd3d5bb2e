/**
 * Where a record goes, from the residency plan: sync runs between cells (Aurora replicates inside a
 * cell), so the targets of a region are the writers (primaries) of the other cells, and each record
 * goes to those the plan allows for its class and home region, in full or masked.
 */
import type { Decision, RecordFacts, ResidencyIndex } from '../residency-plan';
import type { ChangeEvent } from './events';

/** Writers of the other jurisdiction cells: the regions this region's outbox may send to. */
export function syncTargets(index: ResidencyIndex, region: string): string[] {
  const own = index.cellOf(region)?.jurisdiction;
  return index.plan.cells
    .filter((c) => c.jurisdiction !== own)
    .map((c) => c.primary)
    .sort();
}

/** Regions that send to this region (the apply side's expected sources). */
export function syncSources(index: ResidencyIndex, region: string): string[] {
  return index.plan.cells
    .map((c) => c.primary)
    .filter((p) => p !== region && syncTargets(index, p).includes(region))
    .sort();
}

export interface Route {
  readonly target: string;
  readonly decision: Decision;
}

/** What the plan's run-time decision knows of a record: its subject's consent. */
export const recordFacts = (e: Pick<ChangeEvent, 'consent'>): RecordFacts => ({
  consent: e.consent === true,
});

/** The decision for each target of a record, by its class, home region and consent. */
export function routesOf(
  index: ResidencyIndex,
  targets: readonly string[],
  e: Pick<ChangeEvent, 'dataClass' | 'homeRegion' | 'consent'>,
): Route[] {
  return targets.map((target) => ({
    target,
    decision: index.decide(e.dataClass, e.homeRegion, target, recordFacts(e)),
  }));
}
