/**
 * Loads the residency plan that synth writes into the `meridian` Lambda layer
 * (`/opt/meridian/residency-plan.json`), once per container.
 */
import { readFileSync } from 'node:fs';
import { ResidencyIndex, type ResidencyPlan } from './residency-plan';

export const DEFAULT_PLAN_FILE = '/opt/meridian/residency-plan.json';

export class PlanFileError extends Error {
  override readonly name = 'PlanFileError';
}

/** Reads and sanity-checks a serialised plan; throws PlanFileError naming the file and the fault. */
export function loadResidencyIndex(file: string = DEFAULT_PLAN_FILE): ResidencyIndex {
  let plan: ResidencyPlan;
  try {
    plan = JSON.parse(readFileSync(file, 'utf8')) as ResidencyPlan;
  } catch (err) {
    throw new PlanFileError(`cannot read the residency plan ${file}: ${(err as Error).message}`);
  }
  if (plan?.version !== 1 || !Array.isArray(plan.edges) || !Array.isArray(plan.regions)) {
    throw new PlanFileError(
      `${file} is not a version 1 residency plan (got version ${String(plan?.version)})`,
    );
  }
  return new ResidencyIndex(plan);
}
