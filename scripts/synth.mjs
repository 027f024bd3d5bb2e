#!/usr/bin/env node
// npm run synth [-- --env <name>] : CloudFormation for every region of regions/ into cdk.out/.
// npm run test:synth              : the same for every environment (prod + each overlay) into
//                                   .build/synth-check/<env>, checking one template per region.
// Then the compliance report from the templates (bin/report.ts → reports/).
// Runs offline: no AWS account, credentials or network. Extra arguments go to `cdk synth`.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write(`Usage: npm run synth [-- --env <name>] [--check] [-c <key>=<value> ...]
  --env <name>     environment: regions/overlays/<name>.yaml (default prod); report
                   reports/compliance.md (prod) or reports/compliance-<name>.md
  --check          every environment into .build/synth-check/, and fail when the committed
                   reports/compliance.md is stale (what npm test runs)
  -c <key>=<value> passed to cdk synth: -c meridian:guard=off skips the Control Tower guard,
                   -c meridian:bundling=per-stack bundles per stack; other cdk synth flags too
  --help           this text
`);
  process.exit(0);
}
const check = args.includes('--check');
const envFlag = args.indexOf('--env');
const env = envFlag >= 0 ? args[envFlag + 1] : 'prod';
// Everything but our own flags goes to `cdk synth` (e.g. `-c meridian:guard=off`).
const passThrough = args.filter(
  (a, i) => a !== '--check' && (envFlag < 0 || (i !== envFlag && i !== envFlag + 1)),
);
const cdk = path.join(root, 'node_modules', '.bin', 'cdk');
const tsx = path.join(root, 'node_modules', '.bin', 'tsx');
const processEnv = {
  ...process.env,
  CDK_HOME: path.join(root, '.cdk-home'),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
};

const regionIds = fs
  .readdirSync(path.join(root, 'regions'))
  .filter((f) => /\.ya?ml$/.test(f) && !/^global\./.test(f))
  .map((f) => f.replace(/\.ya?ml$/, ''))
  .sort();
const overlays = fs.existsSync(path.join(root, 'regions', 'overlays'))
  ? fs.readdirSync(path.join(root, 'regions', 'overlays')).map((f) => f.replace(/\.ya?ml$/, ''))
  : [];

function synth(envName, outdir) {
  const started = Date.now();
  const run = spawnSync(
    cdk,
    ['synth', '--quiet', '-c', `env=${envName}`, '-o', outdir, ...passThrough],
    { cwd: root, env: processEnv, stdio: ['inherit', 'pipe', 'pipe'], encoding: 'utf8' },
  );
  // The CLI's own noise goes: its "Supply a stack id" hint (we list the stacks below) and, after
  // the app has printed its one line per problem, its "Subprocess exited with error 1".
  const quiet = (text) =>
    text
      .split('\n')
      .filter((l) => !/^Supply a stack id|Subprocess exited with error \d+$/.test(l))
      .join('\n');
  process.stdout.write(quiet(run.stdout ?? ''));
  process.stderr.write(quiet(run.stderr ?? ''));
  if (run.status !== 0) process.exit(run.status ?? 1);
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const stacks = Object.entries(manifest.artifacts)
    .filter(([, a]) => a.type === 'aws:cloudformation:stack')
    .map(([id, a]) => {
      const file = path.join(outdir, a.properties.templateFile);
      const resources = Object.keys(
        JSON.parse(fs.readFileSync(file, 'utf8')).Resources ?? {},
      ).length;
      return {
        id,
        region: a.environment.split('/').pop(),
        file: path.relative(root, file),
        resources,
      };
    });
  console.log(
    `\n${envName}: ${stacks.length} stacks in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  for (const s of stacks)
    console.log(`  ${s.id.padEnd(34)} ${String(s.resources).padStart(4)} resources  ${s.file}`);
  return stacks;
}

/**
 * The Cloudflare edge (cdktf): Terraform JSON into `outdir`, plus the failover timing. It reads
 * only regions/, so it runs beside the stacks' synth on the other core: `startEdge` starts it (its
 * output to a file, so nothing blocks while the stacks' synth holds this process), `finishEdge`
 * waits for it, prints its output after the stacks' lines and exits as it failed.
 */
function startEdge(envName, outdir) {
  const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-edge-')), 'edge.log');
  const fd = fs.openSync(log, 'w');
  const child = spawn(
    tsx,
    ['bin/edge.ts', '--env', envName, '--out', path.relative(root, outdir)],
    {
      cwd: root,
      env: processEnv,
      stdio: ['ignore', fd, fd],
    },
  );
  fs.closeSync(fd);
  const stop = () => child.kill();
  process.on('exit', stop);
  const done = new Promise((resolve) =>
    child.on('close', (code, signal) => {
      process.off('exit', stop);
      resolve(code ?? (signal ? 1 : 0));
    }),
  );
  return { log, done };
}

async function finishEdge({ log, done }) {
  const code = await done;
  process.stdout.write(fs.readFileSync(log, 'utf8'));
  fs.rmSync(path.dirname(log), { recursive: true, force: true });
  if (code !== 0) process.exit(code);
}

/**
 * The compliance report from what synth just wrote: the report names its file after the
 * environment the templates were synthesized for (reports/compliance.md for prod,
 * compliance-<env>.md for an overlay).
 */
function report(cdkOut, cdktfOut, out) {
  const run = spawnSync(
    tsx,
    ['bin/report.ts', '--cdk-out', cdkOut, '--cdktf-out', cdktfOut, '--out', out],
    { cwd: root, env: processEnv, stdio: 'inherit' },
  );
  if (run.status !== 0) process.exit(run.status ?? 1);
}

/**
 * Runs `fn` as the step `phase`; with MERIDIAN_SYNTH_TIMINGS set (the bench), its time is added to
 * that file after the app's own phases, as `step: <phase>`.
 */
async function step(phase, fn) {
  const started = performance.now();
  await fn();
  const file = process.env.MERIDIAN_SYNTH_TIMINGS;
  if (!file) return;
  const phases = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : [];
  phases.push({ phase: `step: ${phase}`, ms: performance.now() - started });
  fs.writeFileSync(file, JSON.stringify(phases));
}

if (!check) {
  if (process.env.MERIDIAN_SYNTH_TIMINGS)
    fs.rmSync(process.env.MERIDIAN_SYNTH_TIMINGS, { force: true });
  const edge = startEdge(env, path.join(root, 'cdktf.out'));
  await step('stacks (cdk synth: CLI and app)', () => synth(env, path.join(root, 'cdk.out')));
  await step('edge (cdktf, beside the stacks: the wait after them)', () => finishEdge(edge));
  await step('report', () =>
    report(path.join(root, 'cdk.out'), path.join(root, 'cdktf.out'), path.join(root, 'reports')),
  );
} else {
  /** Why the check fails, printed last so the reason is the last thing on screen. */
  const failures = [];
  for (const envName of ['prod', ...overlays.filter((o) => o !== 'prod')]) {
    const edge = startEdge(envName, path.join(root, '.build', 'synth-check', envName, 'cdktf'));
    const stacks = synth(envName, path.join(root, '.build', 'synth-check', envName));
    await finishEdge(edge);
    report(
      path.join(root, '.build', 'synth-check', envName),
      path.join(root, '.build', 'synth-check', envName, 'cdktf'),
      path.join(root, '.build', 'synth-check', envName, 'reports'),
    );
    if (envName === 'prod') {
      // The committed report and its machine-readable findings must be the ones these
      // templates give: a change to regions/ or lib/ that moves compliance shows up as a diff of
      // reports/compliance.md (and .sarif, .oscal.json) in review.
      const stale = ['compliance.md', 'compliance.sarif', 'compliance.oscal.json'].filter((f) => {
        const fresh = fs.readFileSync(
          path.join(root, '.build', 'synth-check', envName, 'reports', f),
          'utf8',
        );
        const committed = path.join(root, 'reports', f);
        return !fs.existsSync(committed) || fs.readFileSync(committed, 'utf8') !== fresh;
      });
      if (stale.length > 0) {
        failures.push(
          `${stale.map((f) => `reports/${f}`).join(', ')} ${stale.length > 1 ? 'are' : 'is'} not the report of these templates; run \`npm run synth\` and commit reports/ (the diff of compliance.md is what the change does to compliance)`,
        );
      }
    }
    const missing = regionIds.filter((r) => !stacks.some((s) => s.region === r));
    if (missing.length > 0) {
      failures.push(`${envName}: no template for ${missing.join(', ')}`);
    }
  }
  if (failures.length > 0) {
    console.error(`\nsynth check FAILED:\n${failures.map((f) => `  ${f}`).join('\n')}`);
    process.exit(1);
  }
  console.log(
    '\nsynth check: every region of every environment synthesized with no compliance findings',
  );
}
