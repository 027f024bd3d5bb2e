/**
 * npm run bench: synth and Lambda packaging figures, each against a naive baseline measured in the
 * same run. Prints a table and writes bench/results.json ({ name, value, unit, baseline, ratio }).
 *
 *   synth.cold / synth.warm     full `cdk synth` of the shipped regions/ (rule packs on), shared
 *                               bundle vs NodejsFunction-style per-stack bundling (the baseline)
 *   guard.one-region            Control Tower rules on one template, sliced per rule's resource
 *                               types (lib/compliance/control-tower-guard.ts) vs the package's
 *                               own whole-template run; both must find the same findings
 *   synth.per-region            in-process marginal cost of one more regional stack (slope over
 *                               2, 4 and 8 regions), shared bundle vs per-stack bundling
 *   lambda.<name>.size / .load  bundle bytes and cold module import time (median of fresh node
 *                               processes), vs a plain esbuild bundle (no minify, no ESM-first
 *                               field order)
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App } from 'aws-cdk-lib';
import { buildSync } from 'esbuild';
import { buildMeridian } from '../lib/app';
import { ControlTowerGuard } from '../lib/compliance/control-tower-guard';
import { loadConfig, type MeridianConfig } from '../lib/config/load';
import {
  BUILD_DIR,
  bundleHandlers,
  handlerNames,
  LAMBDA_DIR,
  PROJECT_ROOT,
} from '../lib/functions/bundle';
import type { BundlingMode } from '../lib/functions/meridian-function';
import type { Result } from './result';

const results: Result[] = [];
const round = (n: number, digits = 2) => Number(n.toFixed(digits));
function record(name: string, value: number, unit: string, baseline: number): void {
  results.push({
    name,
    value: round(value),
    unit,
    baseline: round(baseline),
    ratio: round(baseline / value),
  });
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

// ---- full synth through the CDK CLI, as a user runs it ------------------------------------------
const cdk = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
let lastOut = '';
function cliSynth(mode: BundlingMode): number {
  const started = performance.now();
  lastOut = tmp('bench-synth-');
  const run = spawnSync(
    cdk,
    ['synth', '--quiet', '-c', `meridian:bundling=${mode}`, '-o', lastOut],
    {
      cwd: PROJECT_ROOT,
      env: { ...process.env, CDK_HOME: path.join(PROJECT_ROOT, '.cdk-home') },
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) throw new Error(`cdk synth (${mode}) failed:\n${run.stderr}`);
  return (performance.now() - started) / 1000;
}
function coldSynth(mode: BundlingMode): number {
  // Cold: no bundle output left from an earlier run (both modes write under .build or cdk.out).
  fs.rmSync(path.dirname(BUILD_DIR), { recursive: true, force: true });
  return cliSynth(mode);
}

console.error('synth: cold and warm, shared bundle vs per-stack bundling …');
const coldOnce = coldSynth('once');
const coldPerStack = coldSynth('per-stack');
const warmOnce = median([cliSynth('once'), cliSynth('once')]);
const warmPerStack = median([cliSynth('per-stack'), cliSynth('per-stack')]);
record('synth.cold', coldOnce, 's', coldPerStack);
record('synth.warm', warmOnce, 's', warmPerStack);

// ---- Control Tower guard: rules over template slices vs the package's whole-template run --------
console.error('guard: sliced vs whole template, one region …');
{
  const template = path.join(lastOut, 'Meridian-prod-us-east-1.template.json');
  const context = {
    templatePaths: [template],
    stackTemplates: [],
    appConstruct: undefined as never,
  };
  let t = performance.now();
  const sliced = new ControlTowerGuard(undefined, { cache: false }).validate(context);
  const slicedSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const whole = new CfnGuardValidator({ maxBuffer: 256 * 1024 * 1024 }).validate(context);
  const wholeSeconds = (performance.now() - t) / 1000;
  if (sliced.violations.length !== whole.violations.length)
    throw new Error(
      `guard: sliced run found ${sliced.violations.length} findings, whole run ${whole.violations.length}`,
    );
  record('guard.one-region', slicedSeconds, 's', wholeSeconds);
}

// ---- marginal cost of a region, in process -------------------------------------------------------
const cdkContext = (
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;
const config = loadConfig({ environ: {} });
function synthRegions(n: number, mode: BundlingMode): number {
  const subset: MeridianConfig = { ...config, regions: config.regions.slice(0, n) };
  const started = performance.now();
  const app = new App({ context: cdkContext, outdir: tmp('bench-app-') });
  buildMeridian(app, subset, { bundling: mode });
  app.synth();
  return (performance.now() - started) / 1000;
}
function perRegionSlope(mode: BundlingMode): number {
  synthRegions(1, mode); // warm the module cache and the shared bundle
  const xs = [2, 4, 8];
  const ys = xs.map((n) => median([synthRegions(n, mode), synthRegions(n, mode)]));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const num = xs.reduce((acc, x, i) => acc + (x - mx) * ((ys[i] ?? 0) - my), 0);
  const den = xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
  return num / den;
}
console.error('synth: per-region cost …');
record('synth.per-region', perRegionSlope('once'), 's/region', perRegionSlope('per-stack'));

// ---- Lambda bundles -------------------------------------------------------------------------------
console.error('lambda: bundle size and module load time …');
const plan = path.join(tmp('bench-plan-'), 'residency-plan.json');
fs.writeFileSync(plan, JSON.stringify(config.plan));
const bundles = bundleHandlers();
const naiveDir = tmp('bench-naive-');
buildSync({
  entryPoints: Object.fromEntries(
    handlerNames().map((n) => [`${n}/index`, path.join(LAMBDA_DIR, n, 'index.ts')]),
  ),
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  outdir: naiveDir,
  outExtension: { '.js': '.mjs' },
  banner: {
    js: "import{createRequire as __mcr}from'node:module';const require=__mcr(import.meta.url);",
  },
  logLevel: 'error',
});
function loadMs(file: string): number {
  const samples: number[] = [];
  for (let i = 0; i < 11; i++) {
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const t=performance.now();await import(${JSON.stringify(`file://${file}`)});console.log(performance.now()-t)`,
      ],
      {
        // What each handler checks at start (as Lambda would provide it).
        env: {
          ...process.env,
          AWS_REGION: 'eu-west-1',
          MERIDIAN_RESIDENCY_PLAN_FILE: plan,
          MERIDIAN_REGION: 'eu-west-1',
          MERIDIAN_SEARCH_ADMIN_ROLE_ARN: 'arn:aws:iam::111111111111:role/bench',
          MERIDIAN_BUCKET: 'meridian-bench-data',
          MERIDIAN_REGIONS: 'eu-west-1,eu-central-1',
          MERIDIAN_FINGERPRINT_PARAMETER: '/meridian/bench/fingerprint',
          MERIDIAN_CLOUDFLARE_ACCOUNT_ID: '0123456789abcdef0123456789abcdef',
          MERIDIAN_DB_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:db',
          MERIDIAN_PSEUDONYM_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:p',
          MERIDIAN_CACHE_SECRET_ARN: 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:c',
          MERIDIAN_CACHE_ENDPOINT: 'cache.bench.internal:6379',
          MERIDIAN_KMS_KEY_ARN: 'arn:aws:kms:eu-west-1:111111111111:key/bench',
          MERIDIAN_TARGET_QUEUES: JSON.stringify({
            'us-east-1': 'https://sqs.us-east-1.amazonaws.com/111111111111/in.fifo',
          }),
          MERIDIAN_DEAD_LETTER_URL: 'https://sqs.eu-west-1.amazonaws.com/111111111111/dlq.fifo',
          MERIDIAN_AUDIT_BUCKET: 'meridian-bench-audit',
          MERIDIAN_RUNBOOK: JSON.stringify({
            region: 'eu-west-1',
            account: '111111111111',
            prefix: 'meridian-bench',
            zoneName: 'example.com',
            hostedZoneId: 'Z0BENCH',
            healthPath: '/health',
            apiName: 'api',
            ttlSeconds: 30,
            lockTable: 'lock',
            auditBucket: 'audit',
            quorum: 2,
            leaseSeconds: 900,
            maxSwitchoverLagSeconds: 30,
            cloudflare: {
              accountId: 'a',
              tokenSecretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:t',
            },
            cell: {
              jurisdiction: 'eu',
              globalCluster: 'g',
              regions: [{ id: 'eu-west-1', jurisdiction: 'eu', failoverPriority: 1, capacity: 1 }],
            },
          }),
          MERIDIAN_SYNC_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/111111111111/bench.fifo',
        },
        encoding: 'utf8',
      },
    );
    if (run.status !== 0) {
      throw new Error(`loading ${file} failed:\n${run.stderr.split('\n').slice(-6).join('\n')}`);
    }
    samples.push(Number(run.stdout.trim()));
  }
  return median(samples);
}
for (const [name, dir] of bundles.dirs) {
  const ours = path.join(dir, 'index.mjs');
  const naive = path.join(naiveDir, name, 'index.mjs');
  record(
    `lambda.${name}.size`,
    fs.statSync(ours).size / 1024,
    'KiB',
    fs.statSync(naive).size / 1024,
  );
  record(`lambda.${name}.load`, loadMs(ours), 'ms', loadMs(naive));
}

// ---- report ------------------------------------------------------------------------------------
const goals: Record<string, (r: Result) => boolean> = {
  'synth.cold': (r) => r.value < 15,
  'synth.warm': (r) => r.value < 15,
};
const width = Math.max(...results.map((r) => r.name.length));
console.log(
  `${'benchmark'.padEnd(width)}  ${'value'.padStart(9)}  unit      ${'baseline'.padStart(9)}  ratio`,
);
for (const r of results) {
  const goal =
    goals[r.name] ??
    (r.name.endsWith('.size')
      ? (x: Result) => x.value < 400
      : r.name.endsWith('.load')
        ? (x: Result) => x.value < 60
        : undefined);
  const mark = goal ? (goal(r) ? '  (goal met)' : '  (GOAL MISSED)') : '';
  console.log(
    `${r.name.padEnd(width)}  ${String(r.value).padStart(9)}  ${r.unit.padEnd(8)}  ${String(r.baseline).padStart(9)}  ${r.ratio.toFixed(2)}x${mark}`,
  );
}
console.log(
  `\nmachine: ${os.cpus().length} cores, node ${process.version}; baseline/value = ratio (higher is better)`,
);
fs.writeFileSync(
  path.join(PROJECT_ROOT, 'bench', 'results.json'),
  `${JSON.stringify(results, null, 2)}\n`,
);
