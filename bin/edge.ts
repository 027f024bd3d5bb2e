#!/usr/bin/env node
/**
 * The Cloudflare edge: `regions/` → validated config → Terraform JSON for the Cloudflare provider
 * v5 in cdktf.out/stacks/<platform>-edge-<env>/cdk.tf.json. Run by `npm run synth`; apply it with
 * `terraform` (or `cdktf deploy`) and CLOUDFLARE_API_TOKEN.
 *
 *   tsx bin/edge.ts [--env <name>] [--out <dir>]
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import { buildEdge, EdgeResidencyError } from '../lib/edge/edge-stack';
import { describeFailoverTiming } from '../lib/routing/traffic-plan';

const { values } = parseArgs({
  options: {
    env: { type: 'string', default: DEFAULT_ENV },
    out: { type: 'string', default: 'cdktf.out' },
  },
});
try {
  const config = loadConfig({ env: values.env });
  const { app, stack } = buildEdge(config, values.out);
  app.synth();
  process.stdout.write(
    `  ${stack.node.id.padEnd(35)} ${String(stack.plan.pools.length).padStart(3)} pools      ${values.out}/stacks/${stack.node.id}/cdk.tf.json\n`,
  );
  process.stdout.write(
    `\nDetection + re-route, worst case per region (from regions/ intervals, thresholds, TTLs):\n${describeFailoverTiming(
      config,
    )
      .map((l) => `  ${l}\n`)
      .join('')}`,
  );
} catch (err) {
  if (!(err instanceof ConfigError) && !(err instanceof EdgeResidencyError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
