/**
 * What every bench part shares: `--quick` (CI: small sizes, same code paths, results under
 * .build/bench/ so the committed figures stay the full run's), where results go, and the config
 * the sync and failover parts run on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadConfig, type MeridianConfig } from '../lib/config/load';
import { PROJECT_ROOT } from '../lib/functions/bundle';
import type { Result } from './result';

export { PROJECT_ROOT };

/** `npm run bench -- --quick` (or MERIDIAN_BENCH_QUICK=1): the CI size. */
export const QUICK = process.argv.includes('--quick') || process.env.MERIDIAN_BENCH_QUICK === '1';

/** `full` in a full run, `quick` in a quick one. */
export function sized<T>(full: T, quick: T): T {
  return QUICK ? quick : full;
}

/**
 * The regions the sync and failover parts run on: a fixed copy of the shipped example, so a
 * user's own `regions/` cannot move or break the code figures (synth figures use `regions/`).
 */
export function benchConfig(): MeridianConfig {
  return loadConfig({
    dir: path.join(PROJECT_ROOT, 'test', 'fixtures', 'eight-regions'),
    env: 'prod',
    environ: {},
  });
}

/** Writes `bench/<file>` (full run) or `.build/bench/<file>` (quick run); returns the path. */
export function writeResults(file: string, results: readonly Result[]): string {
  const dir = QUICK ? path.join(PROJECT_ROOT, '.build', 'bench') : path.join(PROJECT_ROOT, 'bench');
  fs.mkdirSync(dir, { recursive: true });
  const out = path.join(dir, file);
  fs.writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  return out;
}

/** Nearest-rank percentile of `xs` (p in 0..100). */
export function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}
