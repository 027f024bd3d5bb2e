import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type App, Validations } from 'aws-cdk-lib';
import { ResidencyIndex } from '../lambda/shared/residency-plan';
import { CachedTemplateValidation } from './compliance/cached-template-validation';
import { ControlTowerGuard } from './compliance/control-tower-guard';
import { compliancePacks } from './compliance/nag';
import { ResidencyGuard } from './compliance/residency-guard';
import type { MeridianConfig } from './config/load';
import type { BundlingMode } from './functions/meridian-function';
import { Naming } from './naming';
import { type DeployNeed, deployNeeds, deployOrder } from './regional/deploy-order';
import { RegionalStack } from './regional-stack';
import type { SynthTimings } from './synth-timings';

export interface MeridianAppOptions {
  /** @default 'once' */
  readonly bundling?: BundlingMode;
  /** Register the cdk-nag packs and the residency guard. @default true */
  readonly compliance?: boolean;
  /** Records where the synth's time goes (the bench's breakdown). @default - not recorded */
  readonly timings?: SynthTimings;
  /**
   * Also run the Control Tower proactive controls (cfn-guard, ~6.5 s for the shipped regions on 2 cores).
   * @default false - `bin/app.ts` (every `npm run synth`) turns it on; in-process test apps leave it off
   */
  readonly controlTower?: boolean;
}

/** The context (feature flags) of cdk.json, so in-process apps build what `npm run synth` builds. */
export function cdkContext(): Record<string, unknown> {
  return (
    JSON.parse(readFileSync(join(__dirname, '..', 'cdk.json'), 'utf8')) as {
      context: Record<string, unknown>;
    }
  ).context;
}

/** Builds every stack of a validated config into `app`, ordered for `cdk deploy --all`. */
export function buildMeridian(
  app: App,
  config: MeridianConfig,
  options: MeridianAppOptions = {},
): RegionalStack[] {
  const index = new ResidencyIndex(config.plan);
  const stacks = config.regions.map(
    (region) => new RegionalStack(app, { config, region, index, bundling: options.bundling }),
  );
  // Deploy order (`cdk deploy --all`): each cell's primary before the regions that join it.
  const stackOf = new Map(stacks.map((s) => [s.region, s]));
  for (const need of deployOrder(deployNeeds(index)).dependencies) {
    // Both ends are stacks of this app, except in an app of some of the plan's regions (the
    // bench's per-region cost): there a need on a region left out has nothing to order.
    const [region, after] = [stackOf.get(need.region), stackOf.get(need.after)];
    if (region && after) region.addStackDependency(after, why(need));
  }
  if (options.compliance ?? true) {
    const { timings } = options;
    Validations.of(app).addPlugins(
      ...[
        // aws-cdk-lib's template validation, remembered by content (replaces the built-in one).
        new CachedTemplateValidation(),
        ...compliancePacks(app),
        new ResidencyGuard(index, new Naming(config.global.platform, config.env)),
        ...(options.controlTower ? [new ControlTowerGuard()] : []),
      ].map((p) => (timings ? timings.plugin(p) : p)),
    );
  }
  return stacks;
}

const REASONS: Readonly<Record<DeployNeed['why'], string>> = {
  cell: 'joins the Aurora global cluster, Global Datastore and lock table its cell primary creates',
  objects: 'replicates objects into its buckets',
  search: 'follows its search domain',
};
const why = (need: DeployNeed) => `${need.region} ${REASONS[need.why]}`;
