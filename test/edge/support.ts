import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing } from 'cdktf';
import type { MeridianConfig } from '../../lib/config/load';
import { buildEdge } from '../../lib/edge/edge-stack';

export interface TerraformJson {
  readonly resource: Record<string, Record<string, Record<string, unknown>>>;
  readonly terraform: Record<string, unknown>;
  readonly provider: Record<string, unknown>;
}

/** The Terraform JSON the edge module writes for a config. */
export function edgeJson(config: MeridianConfig): TerraformJson {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-edge-'));
  const { stack } = buildEdge(config, outdir);
  return JSON.parse(Testing.synth(stack)) as TerraformJson;
}

/** `${cloudflare_load_balancer_pool.pool-eu-west-1.id}` → `eu-west-1`. */
export const poolKeyOf = (ref: string): string => {
  const m = /^\$\{cloudflare_load_balancer_pool\.pool-([a-z0-9-]+)\.id\}$/.exec(ref);
  if (!m?.[1]) throw new Error(`not a pool reference: ${ref}`);
  return m[1];
};
