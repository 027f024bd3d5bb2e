#!/usr/bin/env node
/**
 * The CDK app: `regions/` → validated config → one stack per region.
 * Context: `-c env=<name>` picks regions/overlays/<name>.yaml (default prod).
 */
import { App } from 'aws-cdk-lib';
import { buildMeridian } from '../lib/app';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';

const app = new App();
try {
  const env = (app.node.tryGetContext('env') as string | undefined) ?? DEFAULT_ENV;
  const config = loadConfig({ env });
  const bundling =
    app.node.tryGetContext('meridian:bundling') === 'per-stack' ? 'per-stack' : 'once';
  // `-c meridian:guard=off` skips the Control Tower controls (a quicker local loop; CI keeps them).
  const controlTower = app.node.tryGetContext('meridian:guard') !== 'off';
  buildMeridian(app, config, { bundling, controlTower });
  app.synth();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
