/**
 * npm run bench: synth and Lambda packaging figures, each against a naive baseline measured in the
 * same run. Prints a table and writes bench/results.json ({ name, value, unit, baseline, ratio }).
 *
 *   synth.cold / synth.warm     `npm run synth` end to end (stacks with rule packs and guard,
 *                               edge, report) in a copy of the project, shared bundle vs
 *                               NodejsFunction-style per-stack bundling (the baseline); cold =
 *                               bundles to rebuild, template-validation and guard caches warm
 *                               (goal < 15 s); the note: where the time went, phase by phase, and
 *                               CPU self time by package from a --cpu-prof run
 *   synth.first                 the same with those caches empty too (a fresh clone's first)
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
 * --quick (CI, < 60 s in all): no `npm run synth` (npm test's synth check runs that path), the
 * guard on a 40-resource slice of one template, one region in process per bundling mode (its time, not a
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
import { bundleHandlers, handlerNames, LAMBDA_DIR, PROJECT_ROOT } from '../lib/functions/bundle';
import type { BundlingMode } from '../lib/functions/meridian-function';
import { percentile, QUICK, sized, writeResults } from './options';
import { copyProject } from './project-copy';
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

// ---- `npm run synth` end to end, as a user runs it ---------------------------------------------
/** Where the app and scripts/synth.mjs write their phases (MERIDIAN_SYNTH_TIMINGS). */
const lastTimings = path.join(tmp('bench-timings-'), 'timings.json');
interface Phase {
  readonly phase: string;
  readonly ms: number;
}
const readPhases = (): Phase[] => JSON.parse(fs.readFileSync(lastTimings, 'utf8')) as Phase[];
/**
 * Where an end-to-end synth's time went (s): the app's phases, the CDK CLI, node and tsx around
 * the app, the edge and the report, and npm and scripts/synth.mjs around all three.
 */
function breakdown(wallSeconds: number): { phase: string; s: number }[] {
  const phases = readPhases();
  const ms = (name: string) => phases.find((p) => p.phase === name)?.ms ?? 0;
  const inApp = ms('total (in the app)');
  const steps = phases.filter((p) => p.phase.startsWith('step: '));
  return [
    ...phases
      .filter((p) => p.phase !== 'total (in the app)' && !p.phase.startsWith('step: '))
      .map((p) => ({ phase: p.phase, s: p.ms / 1000 })),
    {
      phase: 'CDK CLI, node, tsx and module loading around the app',
      s: (ms('step: stacks (cdk synth: CLI and app)') - inApp) / 1000,
    },
    {
      phase: 'edge (cdktf; it runs beside the stacks: the wait after them)',
      s: ms('step: edge (cdktf, beside the stacks: the wait after them)') / 1000,
    },
    { phase: 'report', s: ms('step: report') / 1000 },
    {
      phase: 'npm and scripts/synth.mjs',
      s: wallSeconds - steps.reduce((n, p) => n + p.ms, 0) / 1000,
    },
  ];
}

/** cdk.json's context, as the CLI gives it to the app. */
const cdkContext = (
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  }
).context;
/** The last `once`-mode synth's output: its templates give each bundle its environment. */
let onceOut = '';
/** A copy of the project: `npm run synth` there writes the copy's cdk.out/, reports/ and .build/. */
const copy = QUICK ? '' : copyProject(path.join(PROJECT_ROOT, 'regions'), 'meridian-bench-');
/**
 * `npm run synth` in the copy (stacks, edge, report), wall seconds. `cold` empties what a changed
 * handler would: the bundles (.build/lambda, and cdk.out/ where per-stack bundling stages its own);
 * `first` also the template-validation and guard caches, as on a fresh clone.
 */
function npmSynth(mode: BundlingMode, state: 'first' | 'cold' | 'warm', env = {}): number {
  const build = path.join(copy, '.build');
  if (state !== 'warm')
    for (const d of [path.join(build, 'lambda'), path.join(copy, 'cdk.out')])
      fs.rmSync(d, { recursive: true, force: true });
  if (state === 'first')
    for (const d of ['guard-cache', 'template-validation-cache'])
      fs.rmSync(path.join(build, d), { recursive: true, force: true });
  const started = performance.now();
  const run = spawnSync(
    'npm',
    [
      'run',
      '-s',
      'synth',
      ...(mode === 'per-stack' ? ['--', '-c', 'meridian:bundling=per-stack'] : []),
    ],
    {
      cwd: copy,
      env: { ...process.env, MERIDIAN_SYNTH_TIMINGS: lastTimings, ...env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (run.status !== 0) throw new Error(`npm run synth (${mode}, ${state}) failed:\n${run.stderr}`);
  if (mode === 'once') onceOut = path.join(copy, 'cdk.out');
  return (performance.now() - started) / 1000;
}

section('synth: npm run synth end to end, shared bundle vs per-stack bundling …');
if (!QUICK) {
  const firstPerStack = npmSynth('per-stack', 'first');
  const firstOnce = npmSynth('once', 'first');
  const coldPerStack = npmSynth('per-stack', 'cold');
  const coldOnce = npmSynth('once', 'cold');
  const parts = breakdown(coldOnce);
  const warmPerStack = median([npmSynth('per-stack', 'warm'), npmSynth('per-stack', 'warm')]);
  const warmOnce = median([npmSynth('once', 'warm'), npmSynth('once', 'warm')]);
  record('synth.cold', coldOnce, 's', coldPerStack);
  (results[results.length - 1] as Result).note =
    `npm run synth end to end (stacks, edge, report), handlers changed (bundles cold), caches warm; ${parts
      .map((p) => `${p.phase} ${p.s.toFixed(2)} s`)
      .join('; ')}; ${cpuProfile()}`;
  console.error('synth.cold, where the time goes:');
  for (const p of parts) console.error(`  ${p.s.toFixed(2).padStart(6)} s  ${p.phase}`);
  record('synth.first', firstOnce, 's', firstPerStack);
  (results[results.length - 1] as Result).note =
    "npm run synth end to end with cold bundles and cold template-validation and guard caches: a fresh clone's first synth (no goal)";
  record('synth.warm', warmOnce, 's', warmPerStack);
  (results[results.length - 1] as Result).note = 'npm run synth end to end, nothing changed';
}

/**
 * Where the CPU went in one more cold synth: its three programs (the CDK app, the edge, the report)
 * run directly under `node --cpu-prof` (Node 20 refuses the flag in NODE_OPTIONS, so the CDK CLI
 * and npm around them are not profiled); self time by package or project folder, summed over the
 * three, the biggest first.
 */
function cpuProfile(): string {
  const dir = tmp('bench-cpuprof-');
  const out = tmp('bench-cpuprof-out-');
  fs.rmSync(path.join(copy, '.build', 'lambda'), { recursive: true, force: true });
  const programs: [string, string[], Record<string, string>][] = [
    [
      'bin/app.ts',
      [],
      { CDK_OUTDIR: path.join(out, 'cdk.out'), CDK_CONTEXT_JSON: JSON.stringify(cdkContext) },
    ],
    ['bin/edge.ts', ['--env', 'prod', '--out', path.join(out, 'cdktf.out')], {}],
    [
      'bin/report.ts',
      [
        '--cdk-out',
        path.join(out, 'cdk.out'),
        '--cdktf-out',
        path.join(out, 'cdktf.out'),
        '--out',
        path.join(out, 'reports'),
      ],
      {},
    ],
  ];
  for (const [program, args, env] of programs) {
    const run = spawnSync(
      process.execPath,
      ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--import', 'tsx', program, ...args],
      { cwd: copy, env: { ...process.env, ...env }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    if (run.status !== 0) throw new Error(`${program} under --cpu-prof failed:\n${run.stderr}`);
  }
  const self = new Map<string, number>();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const prof = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as {
      nodes: { id: number; callFrame: { url: string; functionName: string } }[];
      samples: number[];
      timeDeltas: number[];
    };
    const where = new Map(prof.nodes.map((n) => [n.id, whereOf(n.callFrame)]));
    prof.samples.forEach((id, i) => {
      const key = where.get(id) ?? '(unknown)';
      self.set(key, (self.get(key) ?? 0) + (prof.timeDeltas[i] ?? 0) / 1e6);
    });
  }
  self.delete('(idle)');
  const top = [...self].sort((a, b) => b[1] - a[1]).slice(0, 10);
  return `cpu-prof self time (CPU, all threads) of the app, edge and report of one cold run under the profiler: ${top.map(([k, v]) => `${k} ${v.toFixed(2)} s`).join(', ')}`;
}

/** A profile frame's package (`node_modules/<pkg>`), project folder, or V8's own label. */
function whereOf(frame: { url: string; functionName: string }): string {
  if (!frame.url) return frame.functionName.startsWith('(') ? frame.functionName : '(native)';
  const nm = frame.url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const [a = '', b = ''] = frame.url.slice(nm + 'node_modules/'.length).split('/');
    return a.startsWith('@') ? `${a}/${b}` : a;
  }
  if (frame.url.startsWith('node:')) return '(node internals)';
  const rel = path.relative(copy, frame.url.replace(/^file:\/\//, ''));
  // The project's own code by folder: lib/compliance, lib/regional, bin, …
  return rel.startsWith('..') ? '(other)' : rel.split(path.sep).slice(0, 2).join('/');
}

// ---- marginal cost of a region, in process -------------------------------------------------------
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
// The project copy `npm run synth` ran in (full run): its bundles and cloud assembly are used up.
if (copy) fs.rmSync(copy, { recursive: true, force: true });
