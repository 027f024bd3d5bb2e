#!/usr/bin/env node
/**
 * The CDK app: `regions/` → validated config → one stack per region.
 * Context: `-c env=<name>` picks regions/overlays/<name>.yaml (default prod).
 * MERIDIAN_SYNTH_TIMINGS=<file> writes where the time went (the bench's synth breakdown).
 */
import { App } from 'aws-cdk-lib';
import { buildMeridian } from '../lib/app';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import { bundleHandlers } from '../lib/functions/bundle';
import { SynthTimings } from '../lib/synth-timings';

const timings = new SynthTimings();
const app = new App();
try {
  const env = (app.node.tryGetContext('env') as string | undefined) ?? DEFAULT_ENV;
  const config = timings.time('load regions/', () => loadConfig({ env }));
  const bundling =
    app.node.tryGetContext('meridian:bundling') === 'per-stack' ? 'per-stack' : 'once';
  // The shared bundle of every handler (esbuild), built here so its time is its own phase.
  if (bundling === 'once') timings.time('bundle handlers (esbuild)', () => bundleHandlers());
  // `-c meridian:guard=off` skips the Control Tower controls (a quicker local loop; CI keeps them).
  const controlTower = app.node.tryGetContext('meridian:guard') !== 'off';
  if (!controlTower)
    process.stderr.write(
      'meridian: Control Tower guard skipped (-c meridian:guard=off); CI and `npm test` run it\n',
    );
  timings.time('build stacks', () =>
    buildMeridian(app, config, { bundling, controlTower, timings }),
  );
  const synthStarted = performance.now();
  app.synth();
  // What synth did besides the validation plugins (which run only inside it): resolve, write.
  const validated = timings
    .report()
    .filter((p) => p.phase.startsWith('validate: '))
    .reduce((n, p) => n + p.ms, 0);
  timings.add('synthesize (resolve, write)', performance.now() - synthStarted - validated);
  timings.writeIfAsked();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
