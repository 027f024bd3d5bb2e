/**
 * npm run bench: synth and Lambda packaging figures, each against a naive baseline measured in the
 * same run. Prints a table and writes bench/results.json ({ name, value, unit, baseline, ratio }).
 *
 *   synth.cold / synth.warm     full `cdk synth` of regions/ (rule packs and guard on), shared
 *                               bundle vs NodejsFunction-style per-stack bundling (the baseline);
 *                               cold = no bundles built yet, guard cache warm (goal < 15 s)
 *   synth.first                 the same with the guard cache empty too (a fresh clone's first)
 *   guard.one-region            Control Tower rules on one template, sliced per rule's resource
 *                               types (lib/compliance/control-tower-guard.ts) vs the package's
 *                               own whole-template run; both must find the same findings
 *   synth.per-region            in-process marginal cost of one more regional stack (slope over
 *                               2, 4 and 8 regions), shared bundle vs per-stack bundling
 *   lambda.<name>.size / .load  bundle bytes and cold module import time (p50 of fresh node
 *                               processes, p90 in the note), vs a plain esbuild bundle (no
 *                               minify, no ESM-first field order). Each bundle loads with the
 *                               environment its function has in the synthesized template, so a
 *                               bundle that cannot start fails the bench (and CI, which runs
 *                               `npm run bench -- --quick`).
 *
 * --quick (CI, < 60 s in all): one synth without the guard (printed, no figure), the guard on a
 * 40-resource slice of one template, one region in process per bundling mode (its time, not a
 * slope), one load of each bundle per environment; results to .build/bench/results.json.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
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
import { percentile, QUICK, sized, writeResults } from './options';
import type { Result } from './result';
import { functionEnvironments, type Template } from './template-env';

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
const median = (xs: number[]) => percentile(xs, 50);
const benchStarted = performance.now();
/** A section's heading on stderr, with the seconds the bench has run so far. */
const section = (text: string) =>
  console.error(`[${((performance.now() - benchStarted) / 1000).toFixed(1)} s] ${text}`);
const tmp = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));

// ---- full synth through the CDK CLI, as a user runs it ------------------------------------------
const cdk = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'cdk');
/** Where the app writes its phases (bin/app.ts); the bench prints the cold synth's. */
const lastTimings = path.join(tmp('bench-timings-'), 'timings.json');
/** The synth's phases (s), and what the CLI, node and module loading took around them. */
function breakdown(wallSeconds: number): { phase: string; s: number }[] {
  const phases = JSON.parse(fs.readFileSync(lastTimings, 'utf8')) as {
    phase: string;
    ms: number;
  }[];
  const inApp = phases.find((p) => p.phase === 'total (in the app)')?.ms ?? 0;
  return [
    ...phases
      .filter((p) => p.phase !== 'total (in the app)')
      .map((p) => ({ phase: p.phase, s: p.ms / 1000 })),
    { phase: 'CDK CLI, node, tsx and module loading', s: wallSeconds - inApp / 1000 },
  ];
}
/** The last `once`-mode synth's output: its templates give each bundle its environment. */
let onceOut = '';
function cliSynth(mode: BundlingMode, ...extra: string[]): number {
  const started = performance.now();
  const out = tmp('bench-synth-');
  if (mode === 'once') onceOut = out;
  const run = spawnSync(
    cdk,
    ['synth', '--quiet', '-c', `meridian:bundling=${mode}`, '-o', out, ...extra],
    {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        CDK_HOME: path.join(PROJECT_ROOT, '.cdk-home'),
        MERIDIAN_SYNTH_TIMINGS: lastTimings,
      },
      encoding: 'utf8',
    },
  );
  if (run.status !== 0) throw new Error(`cdk synth (${mode}) failed:\n${run.stderr}`);
  return (performance.now() - started) / 1000;
}
function coldSynth(mode: BundlingMode, ...extra: string[]): number {
  // Cold: no bundle output left from an earlier run (both modes write under .build or cdk.out).
  fs.rmSync(BUILD_DIR, { recursive: true, force: true });
  return cliSynth(mode, ...extra);
}

section('synth: cold and warm, shared bundle vs per-stack bundling …');
if (!QUICK) {
  // Cold guard too: what a fresh clone's first synth costs (the guard cache is empty).
  fs.rmSync(path.join(PROJECT_ROOT, '.build', 'guard-cache'), { recursive: true, force: true });
  const firstPerStack = coldSynth('per-stack');
  const coldPerStack = coldSynth('per-stack');
  fs.rmSync(path.join(PROJECT_ROOT, '.build', 'guard-cache'), { recursive: true, force: true });
  const firstOnce = coldSynth('once');
  const coldOnce = coldSynth('once');
  record('synth.cold', coldOnce, 's', coldPerStack);
  const parts = breakdown(coldOnce);
  (results[results.length - 1] as Result).note = parts
    .map((p) => `${p.phase} ${p.s.toFixed(2)} s`)
    .join('; ');
  console.error('synth.cold, where the time goes:');
  for (const p of parts) console.error(`  ${p.s.toFixed(2).padStart(6)} s  ${p.phase}`);
  record('synth.first', firstOnce, 's', firstPerStack);
  (results[results.length - 1] as Result).note =
    "cold bundles and a cold guard cache: a fresh clone's first synth (no goal)";
  const warmPerStack = median([cliSynth('per-stack'), cliSynth('per-stack')]);
  const warmOnce = median([cliSynth('once'), cliSynth('once')]);
  record('synth.warm', warmOnce, 's', warmPerStack);
}

// ---- marginal cost of a region, in process -------------------------------------------------------
const cdkContext = (
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;
const config = loadConfig({ environ: {} }) as MeridianConfig;
function synthRegions(n: number, mode: BundlingMode): number {
  const subset: MeridianConfig = { ...config, regions: config.regions.slice(0, n) };
  const started = performance.now();
  const outdir = tmp('bench-app-');
  // Asset paths in the templates, as the CLI writes them: the Lambda section finds bundles by them.
  const app = new App({
    context: { ...cdkContext, 'aws:cdk:enable-asset-metadata': true },
    outdir,
  });
  buildMeridian(app, subset, { bundling: mode });
  app.synth();
  // Quick: no CLI synth runs, so the guard and the Lambda section read this one's templates.
  if (QUICK && mode === 'once') onceOut = outdir;
  return (performance.now() - started) / 1000;
}
function perRegionSlope(mode: BundlingMode): number {
  // Quick: one region's synth, cold (the same code path; a slope needs the full run's sizes).
  if (QUICK) return synthRegions(1, mode);
  synthRegions(1, mode); // warm the module cache and the shared bundle
  const xs = [2, 4, 8].filter((n) => n <= config.regions.length);
  const ys = xs.map((n) => median([synthRegions(n, mode), synthRegions(n, mode)]));
  const mx = xs.reduce((a, b) => a + b) / xs.length;
  const my = ys.reduce((a, b) => a + b) / ys.length;
  const num = xs.reduce((acc, x, i) => acc + (x - mx) * ((ys[i] ?? 0) - my), 0);
  const den = xs.reduce((acc, x) => acc + (x - mx) ** 2, 0);
  return num / den;
}
section('synth: per-region cost …');
record('synth.per-region', perRegionSlope('once'), 's/region', perRegionSlope('per-stack'));

// ---- Control Tower guard: rules over template slices vs the package's whole-template run --------
section('guard: sliced vs whole template, one region …');
{
  const manifest = JSON.parse(fs.readFileSync(path.join(onceOut, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string } }>;
  };
  const first = Object.values(manifest.artifacts).find(
    (a) => a.type === 'aws:cloudformation:stack',
  );
  let template = path.join(onceOut, first?.properties?.templateFile ?? 'missing.template.json');
  if (QUICK) {
    // The same rules over a 40-resource slice of the template: same code paths, a few seconds.
    const whole = JSON.parse(fs.readFileSync(template, 'utf8')) as Template;
    const slice = Object.fromEntries(Object.entries(whole.Resources ?? {}).slice(0, 40));
    template = path.join(tmp('bench-guard-'), 'slice.template.json');
    fs.writeFileSync(template, JSON.stringify({ ...whole, Resources: slice }));
  }
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

// ---- Lambda bundles -------------------------------------------------------------------------------
section('lambda: bundle size and module load time …');
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
/**
 * Each handler's environments, from the `once` synth's templates: of the functions whose asset is
 * this handler's bundle (same bytes), one per distinct set of variable names (a secondary's health
 * function has other variables than a primary's), first stack first.
 */
function environmentsByHandler(): Map<string, Record<string, string>[]> {
  const sha = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  const handlerOfBundle = new Map(
    [...bundles.dirs].map(([name, dir]) => [sha(path.join(dir, 'index.mjs')), name]),
  );
  const manifest = JSON.parse(fs.readFileSync(path.join(onceOut, 'manifest.json'), 'utf8')) as {
    artifacts: Record<
      string,
      { type: string; environment?: string; properties?: { templateFile?: string } }
    >;
  };
  const out = new Map<string, Record<string, string>[]>();
  const shapes = new Set<string>();
  for (const a of Object.values(manifest.artifacts)) {
    if (a.type !== 'aws:cloudformation:stack' || !a.properties?.templateFile) continue;
    const [, account = '111111111111', region = 'us-east-1'] =
      /^aws:\/\/(\d+)\/(.+)$/.exec(a.environment ?? '') ?? [];
    const template = JSON.parse(
      fs.readFileSync(path.join(onceOut, a.properties.templateFile), 'utf8'),
    ) as Template & {
      Resources: Record<string, { Metadata?: Record<string, string> }>;
    };
    for (const [id, env] of functionEnvironments(template, region, account)) {
      const asset = template.Resources[id]?.Metadata?.['aws:asset:path'];
      const bundle = asset && path.join(onceOut, asset, 'index.mjs');
      const handler =
        bundle && fs.existsSync(bundle) ? handlerOfBundle.get(sha(bundle)) : undefined;
      const shape = `${handler} ${Object.keys(env).sort().join(' ')}`;
      if (!handler || shapes.has(shape)) continue;
      shapes.add(shape);
      // What Lambda provides beside the function's own variables; the plan file is the layer's.
      out.set(handler, [
        ...(out.get(handler) ?? []),
        {
          ...env,
          AWS_REGION: region,
          AWS_LAMBDA_FUNCTION_NAME: `bench-${handler}`,
          ...(env.MERIDIAN_RESIDENCY_PLAN_FILE ? { MERIDIAN_RESIDENCY_PLAN_FILE: plan } : {}),
        },
      ]);
    }
  }
  return out;
}

/** Module load times of `file` in fresh node processes (ms). */
function loadSamples(file: string, env: Record<string, string>, n = sized(11, 1)): number[] {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const run = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const t=performance.now();await import(${JSON.stringify(`file://${file}`)});console.log(performance.now()-t)`,
      ],
      {
        env: {
          PATH: process.env.PATH ?? '',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          ...env,
        },
        encoding: 'utf8',
      },
    );
    if (run.status !== 0) {
      throw new Error(
        `bench: the bundle ${path.relative(PROJECT_ROOT, file)} cannot load with the environment its function has in the template:\n${run.stderr.split('\n').slice(-8).join('\n')}`,
      );
    }
    samples.push(Number(run.stdout.trim()));
  }
  return samples;
}
const environments = environmentsByHandler();
for (const [name, dir] of bundles.dirs) {
  const [env, ...variants] = environments.get(name) ?? [];
  if (!env) {
    // A handler no stack of these regions deploys (e.g. search replication with no followers).
    console.error(`lambda: ${name} is deployed by no stack of regions/: not measured`);
    continue;
  }
  const ours = path.join(dir, 'index.mjs');
  const naive = path.join(naiveDir, name, 'index.mjs');
  record(
    `lambda.${name}.size`,
    fs.statSync(ours).size / 1024,
    'KiB',
    fs.statSync(naive).size / 1024,
  );
  // Every other environment shape this handler is deployed with must start too (one load each).
  for (const variant of variants) loadSamples(ours, variant, 1);
  const samples = loadSamples(ours, env);
  record(`lambda.${name}.load`, median(samples), 'ms', median(loadSamples(naive, env)));
  const last = results[results.length - 1] as Result;
  last.note = `p50 of ${samples.length} fresh processes; p90 ${round(percentile(samples, 90))} ms`;
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
console.log(`wrote ${writeResults('results.json', results)}`);
