import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { ResidencyPlan } from '../../lambda/shared/residency-plan';
import { DEFAULT_PLAN_FILE } from '../../lambda/shared/residency-plan-file';
import { PROJECT_ROOT } from './bundle';
import { ARCHITECTURE, RUNTIME } from './meridian-function';

export interface ResidencyPlanLayerProps {
  readonly plan: ResidencyPlan;
}

/**
 * The residency plan computed at synth, shipped to the Lambdas as a layer
 * (`/opt/meridian/residency-plan.json`), so run-time decisions use exactly the synth-time plan.
 * The file is written once per plan content and shared by every regional stack.
 */
export class ResidencyPlanLayer extends Construct {
  /** Path of the plan inside a function that has this layer. */
  static readonly PLAN_FILE = DEFAULT_PLAN_FILE;
  readonly layer: lambda.LayerVersion;

  constructor(scope: Construct, id: string, props: ResidencyPlanLayerProps) {
    super(scope, id);
    this.layer = new lambda.LayerVersion(this, 'Layer', {
      description: 'Meridian residency plan (generated from regions/ at synth)',
      code: lambda.Code.fromAsset(writePlanDir(props.plan)),
      compatibleRuntimes: [RUNTIME],
      compatibleArchitectures: [ARCHITECTURE],
    });
  }
}

function writePlanDir(plan: ResidencyPlan): string {
  const json = `${JSON.stringify(plan)}\n`;
  const hash = crypto.createHash('sha256').update(json).digest('hex').slice(0, 16);
  const dir = path.join(PROJECT_ROOT, '.build', 'plan', hash);
  const file = path.join(dir, path.relative('/opt', DEFAULT_PLAN_FILE));
  if (!fs.existsSync(file)) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, json);
  }
  return dir;
}
