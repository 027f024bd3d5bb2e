import {
  type Machine,
  type SynthesizedRunbook,
  synthesizedRunbooks,
} from '../../lib/failover/drill/run';
import { load as loadConfig, MINIMAL } from './fixture';

// The steps' Powertools logs and metrics are checked in step-handler.test.ts; in drills they are
// noise.
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';

/**
 * The runbooks of the minimal fixture (cell eu = eu-west-1 writer + eu-central-1, MRSC lock with
 * its witness in eu-west-2; cell us = us-east-1 alone), taken from the synthesized templates.
 */
export function minimalRunbooks(): (region: string, machine?: Machine) => SynthesizedRunbook {
  return synthesizedRunbooks(loadConfig(MINIMAL));
}

/** Loads a step handler as the drill runs it (jest's module registry). */
export const loadHandler = (file: string) =>
  require(file) as { handler: (input: unknown) => Promise<unknown> };
