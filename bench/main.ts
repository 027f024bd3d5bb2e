/**
 * npm run bench [-- --quick]: the three parts in turn, each in its own process (a part's module
 * state and heap do not colour the next one's figures). A part that fails fails the bench.
 *
 *   bench/run.ts       synth, guard, per-region cost, every Lambda bundle's size and load time
 *   bench/sync.ts      the sync path (CPU, apply on Postgres, end to end)
 *   bench/sync-latency.ts  commit → applied latency percentiles of the realtime path
 *   bench/failover.ts  the offline drill's modelled RTO
 *
 * Full run: figures to bench/*.json (committed). `--quick` (CI): small sizes, the same code
 * paths, figures to .build/bench/ — so a part that stops working fails CI instead of rotting.
 */
import { spawnSync } from 'node:child_process';
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
const started = performance.now();
for (const part of ['run.ts', 'sync.ts', 'sync-latency.ts', 'failover.ts']) {
  const t = performance.now();
  console.log(`\n== bench/${part}${QUICK ? ' (quick)' : ''}`);
  const run = spawnSync(tsx, [path.join('bench', part), ...process.argv.slice(2)], {
    cwd: PROJECT_ROOT,
    stdio: 'inherit',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  if (run.status !== 0) {
    console.error(`bench/${part} failed (exit ${run.status ?? run.signal}): the bench fails`);
    process.exit(1);
  }
  console.log(`(bench/${part}: ${((performance.now() - t) / 1000).toFixed(1)} s)`);
}
console.log(
  `\nbench${QUICK ? ' (quick)' : ''}: ${((performance.now() - started) / 1000).toFixed(1)} s`,
);
