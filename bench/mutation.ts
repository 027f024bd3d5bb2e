/**
 * The last step of `npm run mutate`: Stryker's JSON report (.build/mutation/mutation.json) to
 * bench/mutation-results.json, one `Result` per mutated file plus `mutation.total`, unit `%`.
 *
 * A run may mutate a subset (`npm run mutate -- --mutate <file>`): its files replace the same
 * files in .build/mutation/all.json and the figures are computed over all of them, so per-file
 * runs add up to the full picture. A file scored before but in no report here (a fresh clone:
 * .build/ is not committed) keeps its committed result, its counts read back from its note.
 * `baseline` is the score the committed results file already has for that name (the score before
 * the tests that were added since); `--baseline` starts over (baseline = this run's score).
 * Higher is better, so ratio = value / baseline (against 1 % when the baseline is 0).
 *
 * Score = (killed + timed out) / (killed + timed out + survived + not covered), Stryker's own
 * "mutation score". Survivors are printed (file:line mutator) for bench/mutation-survivors.md.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PROJECT_ROOT, writeResults } from './options';
import type { Result } from './result';

interface Mutant {
  readonly mutatorName: string;
  readonly replacement?: string;
  readonly status: string;
  readonly location: { readonly start: { readonly line: number; readonly column: number } };
}
interface Report {
  readonly files: Record<string, { readonly mutants: readonly Mutant[] }>;
}

const OUT_DIR = path.join(PROJECT_ROOT, '.build', 'mutation');
const RESULTS = path.join(PROJECT_ROOT, 'bench', 'mutation-results.json');

const readJson = <T>(file: string): T | undefined =>
  fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as T) : undefined;

/** Killed, survived, … counts of one file's mutants. */
function tally(mutants: readonly Mutant[]): {
  detected: number;
  undetected: number;
  note: string;
} {
  const n = (s: string) => mutants.filter((m) => m.status === s).length;
  const [killed, timeout, survived, noCoverage, ignored] = [
    n('Killed'),
    n('Timeout'),
    n('Survived'),
    n('NoCoverage'),
    n('Ignored'),
  ];
  return {
    detected: killed + timeout,
    undetected: survived + noCoverage,
    note: `${killed} killed, ${timeout} timed out, ${survived} survived, ${noCoverage} not covered; ${ignored} static (run at module load) not scored`,
  };
}

/** The counts of a committed result, from the note `tally` wrote. */
function fromNote(note = ''): ReturnType<typeof tally> | undefined {
  const m = /^(\d+) killed, (\d+) timed out, (\d+) survived, (\d+) not covered/.exec(note);
  if (!m) return undefined;
  const [killed, timeout, survived, noCoverage] = m.slice(1).map(Number) as [
    number,
    number,
    number,
    number,
  ];
  return { detected: killed + timeout, undetected: survived + noCoverage, note };
}

const score = (detected: number, undetected: number): number =>
  detected + undetected === 0
    ? 100
    : Math.round((10000 * detected) / (detected + undetected)) / 100;

function main(): void {
  const run = readJson<Report>(path.join(OUT_DIR, 'mutation.json'));
  if (!run) throw new Error(`no Stryker report at ${OUT_DIR}/mutation.json: run npm run mutate`);
  const previous = readJson<Report>(path.join(OUT_DIR, 'all.json'));
  const all: Report = { files: { ...previous?.files, ...run.files } };
  fs.writeFileSync(path.join(OUT_DIR, 'all.json'), JSON.stringify(all));

  const reset = process.argv.includes('--baseline');
  const committed = readJson<Result[]>(RESULTS) ?? [];
  const before = new Map(committed.map((r) => [r.name, r.baseline]));
  const tallies = new Map<string, ReturnType<typeof tally>>();
  for (const r of committed) {
    const t = r.name === 'mutation.total' ? undefined : fromNote(r.note);
    if (t) tallies.set(r.name.slice('mutation.'.length), t);
  }
  for (const [file, { mutants }] of Object.entries(all.files)) tallies.set(file, tally(mutants));
  const result = (name: string, value: number, note: string): Result => {
    const baseline = (reset ? undefined : before.get(name)) ?? value;
    return {
      name,
      value,
      unit: '%',
      baseline,
      // A file no fast test reached has baseline 0: its ratio is taken against 1 %.
      ratio: Math.round((100 * value) / Math.max(baseline, 1)) / 100,
      note,
    };
  };

  const results: Result[] = [];
  let detected = 0;
  let undetected = 0;
  let baselineDetected = 0; // the files' baselines weighted by their scored mutants
  for (const [file, t] of [...tallies].sort(([a], [b]) => a.localeCompare(b))) {
    detected += t.detected;
    undetected += t.undetected;
    const r = result(`mutation.${file}`, score(t.detected, t.undetected), t.note);
    baselineDetected += (r.baseline / 100) * (t.detected + t.undetected);
    results.push(r);
  }
  for (const [file, { mutants }] of Object.entries(all.files)) {
    for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
      const what = `${m.mutatorName} ${JSON.stringify(m.replacement ?? '')}`.slice(0, 100);
      console.log(`  ${m.status.padEnd(10)} ${file}:${m.location.start.line} ${what}`);
    }
  }
  // The total's baseline is recomputed from the files' baselines, so a file scored for the first
  // time (baseline = its score) does not count as an improvement of the total.
  const total = result(
    'mutation.total',
    score(detected, undetected),
    `${detected} detected of ${detected + undetected} (${results.length} files)`,
  );
  const totalBaseline = score(baselineDetected, detected + undetected - baselineDetected);
  results.push({
    ...total,
    baseline: totalBaseline,
    ratio: Math.round((100 * total.value) / Math.max(totalBaseline, 1)) / 100,
  });
  for (const r of results) {
    console.log(
      `${r.name.padEnd(52)} ${r.value.toFixed(2).padStart(7)} %  (baseline ${r.baseline})`,
    );
  }
  console.log(`-> ${writeResults('mutation-results.json', results)}`);
}

main();
