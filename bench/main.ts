/**
 * npm run bench [-- --quick]: the four parts, each in its own process (a part's module state and
 * heap do not colour another's figures). A part that fails fails the bench.
 *
 *   bench/run.ts       synth, guard, per-region cost, every Lambda bundle's size and load time
 *   bench/sync.ts      the sync path (CPU, apply on Postgres, end to end)
 *   bench/sync-latency.ts  commit → applied latency percentiles of the realtime path
 *   bench/failover.ts  the offline drill's modelled RTO
 *
 * Full run: figures to bench/*.json (committed), one part at a time. `--quick` (CI, < 60 s):
 * small sizes, the same code paths, two parts at a time, figures to .build/bench/ — so a part
 * that stops working fails CI instead of rotting.
 */
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { PROJECT_ROOT, QUICK } from './options';

if (process.argv.includes('--help')) {
  process.stdout.write(`Usage: npm run bench [-- --quick]
  --quick  small sizes, same code paths, figures to .build/bench/ (CI); also MERIDIAN_BENCH_QUICK=1
  --help   this text
Full run: figures to bench/results.json, bench/sync-results.json, bench/sync-latency-results.json,
bench/failover-results.json.
`);
  process.exit(0);
}

const tsx = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'tsx');

/** One part in its own process; its output is printed whole when it ends (lanes do not interleave). */
function part(name: string): Promise<void> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(tsx, [path.join('bench', name), ...process.argv.slice(2)], {
      cwd: PROJECT_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      out += String(d);
    });
    child.stderr.on('data', (d) => {
      out += String(d);
    });
    child.on('close', (code, signal) => {
      const seconds = ((performance.now() - t) / 1000).toFixed(1);
      process.stdout.write(
        `\n== bench/${name}${QUICK ? ' (quick)' : ''}\n${out}(bench/${name}: ${seconds} s)\n`,
      );
      if (code === 0) resolve();
      else reject(new Error(`bench/${name} failed (exit ${code ?? signal}): the bench fails`));
    });
  });
}

/** Parts one after another. */
async function lane(names: readonly string[]): Promise<void> {
  for (const name of names) await part(name);
}

/**
 * The full run takes the parts one at a time, so no figure is measured beside another part's load.
 * The quick run (CI) only proves every part still works: its two lanes share the two cores, the
 * synth part in one, the others in the other, and its figures are not comparable to the full run's.
 */
const LANES: readonly (readonly string[])[] = QUICK
  ? [['run.ts'], ['sync.ts', 'sync-latency.ts', 'failover.ts']]
  : [['run.ts', 'sync.ts', 'sync-latency.ts', 'failover.ts']];

const started = performance.now();
Promise.all(LANES.map(lane)).then(
  () =>
    console.log(
      `\nbench${QUICK ? ' (quick)' : ''}: ${((performance.now() - started) / 1000).toFixed(1)} s`,
    ),
  (err: Error) => {
    console.error(err.message);
    process.exit(1);
  },
);
