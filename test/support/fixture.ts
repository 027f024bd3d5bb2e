import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type LoadOptions, loadConfig, type MeridianConfig } from '../../lib/config/load';
import { ConfigError, formatProblem } from '../../lib/config/problems';

export const MINIMAL = path.join(__dirname, '..', 'fixtures', 'minimal');
/**
 * Eight regions in four jurisdictions: a frozen copy of the example `regions/` as shipped, so
 * behaviour tests do not move when a user edits their own `regions/` (test/example/ checks that).
 */
export const EIGHT_REGIONS = path.join(__dirname, '..', 'fixtures', 'eight-regions');
/** The user's own `regions/`: only the example suite (test/example/) and synth read it. */
export const USER_REGIONS = path.join(__dirname, '..', '..', 'regions');

/** A throw-away copy of a regions/ folder (named `regions`, as users see it). */
export function copyRegions(from: string = MINIMAL): string {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-')), 'regions');
  fs.cpSync(from, dir, { recursive: true });
  return dir;
}

/** Replaces text in a file of a copied folder; fails loudly when the text is not there. */
export function edit(dir: string, file: string, from: string | RegExp, to: string): void {
  const p = path.join(dir, file);
  const text = fs.readFileSync(p, 'utf8');
  const next = text.replace(from, to);
  if (next === text) throw new Error(`edit: ${String(from)} not found in ${file}`);
  fs.writeFileSync(p, next);
}

export function write(dir: string, file: string, text: string): void {
  fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
  fs.writeFileSync(path.join(dir, file), text);
}

/** The problem lines loading `dir` reports (empty when it loads). */
export function problemsOf(dir: string, options: Omit<LoadOptions, 'dir'> = {}): string[] {
  try {
    loadConfig({ environ: {}, ...options, dir });
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map(formatProblem);
    throw err;
  }
}

export function load(dir: string, options: Omit<LoadOptions, 'dir'> = {}): MeridianConfig {
  return loadConfig({ environ: {}, ...options, dir });
}
