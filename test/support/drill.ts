import { runbookFromTemplate, type SynthesizedRunbook } from '../../lib/failover/drill/run';
import { buildApp } from './app';
import { load as loadConfig, MINIMAL } from './fixture';

// The steps' Powertools logs and metrics are checked in step-handler.test.ts; in drills they are
// noise.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/**
 * The runbooks of the minimal fixture (cell eu = eu-west-1 writer + eu-central-1, MRSC lock with
 * its witness in eu-west-2; cell us = us-east-1 alone), taken from the synthesized templates.
 */
export function minimalRunbooks(): (
  region: string,
  machine?: 'failover' | 'failback',
) => SynthesizedRunbook {
  const built = buildApp(loadConfig(MINIMAL));
  const made = new Map<string, SynthesizedRunbook>();
  return (region, machine = 'failover') => {
    let rb = made.get(`${region}/${machine}`);
    if (!rb) {
      const template = built.template(region).toJSON() as never;
      rb = runbookFromTemplate(template, region, '111111111111', machine);
      made.set(`${region}/${machine}`, rb);
    }
    return rb;
  };
}

/** Loads a step handler as the drill runs it (jest's module registry). */
export const loadHandler = (file: string) =>
  require(file) as { handler: (input: unknown) => Promise<unknown> };
