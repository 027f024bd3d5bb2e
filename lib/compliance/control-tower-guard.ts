import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type {
  IPolicyValidationContext,
  IPolicyValidationPlugin,
  PolicyValidationPluginReport,
  PolicyViolation,
} from 'aws-cdk-lib';
import { PROJECT_ROOT } from '../functions/bundle';

/** The Control Tower proactive-control rules that ship with @cdklabs/cdk-validator-cfnguard. */
export const CONTROL_TOWER_RULES = path.join(
  path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')),
  'rules',
  'control-tower',
  'cfn-guard',
);

/** The cfn-guard binary that ships in the same package. */
const GUARD_BINARY = path.join(
  path.dirname(require.resolve('@cdklabs/cdk-validator-cfnguard/package.json')),
  'bin',
  os.platform() === 'darwin' ? 'macos' : 'ubuntu',
  os.arch() === 'arm64' ? 'aarch64' : 'x86_64',
  'cfn-guard',
);

/** Name under which findings are reported and acknowledged (`<name>::<rule>`). */
export const GUARD_PLUGIN = 'cdk-validator-cfnguard';

interface RuleGroup {
  /** Resource types the rules of this group read (every `AWS::X::Y` named in their files). */
  readonly types: ReadonlySet<string>;
  readonly files: readonly string[];
  /** Rule names as the plugin reports them (e.g. `sqs_dlq_check`). */
  readonly ruleIds: readonly string[];
  /** Hash of the files' paths and contents (cache key part). */
  readonly hash: string;
}

/**
 * Groups the rule files by the resource types they name. A rule only reads resources of the
 * types it names (its own, and those its reference checks resolve), so each group runs over a
 * slice of the template with just those types: the same findings in a tenth of the time
 * (measured on the shipped regions: 150 s for all rules over whole templates, ~10 s sliced).
 * Each file is read once.
 */
export function ruleGroups(dir: string = CONTROL_TOWER_RULES): RuleGroup[] {
  const byTypes = new Map<
    string,
    { types: Set<string>; files: string[]; ruleIds: string[]; hash: crypto.Hash }
  >();
  const walk = (d: string): string[] =>
    fs
      .readdirSync(d, { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]))
      .filter((f) => f.endsWith('.guard'))
      .sort();
  for (const file of walk(dir)) {
    const text = fs.readFileSync(file, 'utf8');
    const types = [...new Set(text.match(/AWS::[A-Za-z0-9]+::[A-Za-z0-9]+/g) ?? [])].sort();
    const key = types.join(',');
    const group = byTypes.get(key) ?? {
      types: new Set(types),
      files: [],
      ruleIds: [],
      hash: crypto.createHash('sha256'),
    };
    group.files.push(file);
    group.ruleIds.push(
      ...[...text.matchAll(/^rule\s+([a-z0-9_]+)\s+when\s+is_cfn_template/gm)].map(
        (m) => m[1] as string,
      ),
    );
    group.hash.update(file).update('\u0000').update(text);
    byTypes.set(key, group);
  }
  return [...byTypes.values()].map((g) => ({ ...g, hash: g.hash.digest('hex') }));
}

type Template = { Resources?: Record<string, { Type: string }> };

/**
 * The resources of `types`, plus every resource they reference (`Ref`, `Fn::GetAtt`, `${X}` in
 * `Fn::Sub`), so the rules' local-reference checks resolve exactly as on the whole template.
 */
export function slice(
  template: Template,
  types: ReadonlySet<string>,
): Record<string, { Type: string }> {
  const all = template.Resources ?? {};
  const kept = Object.fromEntries(Object.entries(all).filter(([, r]) => types.has(r.Type)));
  const refs = (v: unknown): string[] => {
    if (Array.isArray(v)) return v.flatMap(refs);
    if (typeof v === 'string')
      return [...v.matchAll(/\$\{([A-Za-z0-9]+)[.}]/g)].map((m) => m[1] as string);
    if (v === null || typeof v !== 'object') return [];
    return Object.entries(v).flatMap(([k, x]) => {
      if (k === 'Ref' && typeof x === 'string') return [x];
      if (k === 'Fn::GetAtt')
        return [Array.isArray(x) ? String(x[0]) : String(String(x).split('.')[0])];
      return refs(x);
    });
  };
  for (const id of Object.values(kept).flatMap(refs)) {
    const r = all[id];
    if (r) kept[id] = r;
  }
  return kept;
}

/**
 * Synth-time Control Tower proactive controls (cfn-guard, offline: the binary and the rules come
 * in the npm package). Findings fail synth like cdk-nag's; acknowledge one on its construct with
 * `acknowledge(scope, [{ pack: 'cdk-validator-cfnguard', rule, reason }])`.
 */
export class ControlTowerGuard implements IPolicyValidationPlugin {
  readonly name = GUARD_PLUGIN;
  readonly ruleIds: string[];
  private readonly groups: RuleGroup[];

  private readonly cacheDir?: string;

  /**
   * @param options.cache - where results are kept by content (rules + template slice), so an
   *   unchanged slice is not checked again: @default `.build/guard-cache`; `false` turns it off
   */
  constructor(
    rulesDir: string = CONTROL_TOWER_RULES,
    options: { readonly cache?: string | false } = {},
  ) {
    this.groups = ruleGroups(rulesDir);
    this.ruleIds = this.groups.flatMap((g) => g.ruleIds);
    this.cacheDir =
      options.cache === false
        ? undefined
        : (options.cache ?? path.join(PROJECT_ROOT, '.build', 'guard-cache'));
  }

  /**
   * The group's findings over its slices (`texts`, one per template in `originals`) from the
   * cache when rules and slices are unchanged; else a job for runGroups over slice files written
   * to `dir`, whose `settle` caches the result. Findings name the original templates.
   */
  private cachedOrJob(
    group: RuleGroup,
    texts: readonly string[],
    originals: readonly string[],
    dir: string,
  ): { readonly cached: PolicyViolation[] } | GuardJob {
    const hash = crypto.createHash('sha256').update(group.hash);
    for (const t of texts) hash.update('\u0000').update(t);
    const cacheFile = this.cacheDir && path.join(this.cacheDir, `${hash.digest('hex')}.json`);
    // Findings name their template by index in the cache and in between.
    const byIndex = (vs: PolicyViolation[], index: (p: string) => number) =>
      vs.map((v) => ({
        ...v,
        violatingResources: v.violatingResources.map((r) => ({
          ...r,
          templatePath: originals[index(r.templatePath ?? '')] ?? r.templatePath,
        })),
      }));
    if (cacheFile && fs.existsSync(cacheFile))
      return {
        cached: byIndex(
          JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as PolicyViolation[],
          Number,
        ),
      };
    const slices = texts.map((text, i) => {
      const file = path.join(dir, `${group.hash.slice(0, 12)}-${i}.json`);
      fs.writeFileSync(file, text);
      return file;
    });
    return {
      files: group.files,
      slices,
      weight: texts.reduce((n, t) => n + t.length, 0) * group.files.length,
      settle: ({ violations, ran }) => {
        if (cacheFile && ran) {
          fs.mkdirSync(path.dirname(cacheFile), { recursive: true });
          const indexed = violations.map((v) => ({
            ...v,
            violatingResources: v.violatingResources.map((r) => ({
              ...r,
              templatePath: String(slices.indexOf(r.templatePath ?? '')),
            })),
          }));
          fs.writeFileSync(cacheFile, JSON.stringify(indexed));
        }
        return byIndex(violations, (p) => slices.indexOf(p));
      },
    };
  }

  /**
   * cfn-guard skips a rule file it cannot parse and reports the data as passing; run every file
   * once over an empty template and fail on any parse error instead (0.4 s, once per rule set).
   */
  private unparsable(): PolicyViolation | undefined {
    const files = this.groups.flatMap((g) => g.files).sort();
    const hash = crypto.createHash('sha256');
    for (const g of this.groups) hash.update(g.hash);
    const ok = this.cacheDir && path.join(this.cacheDir, `${hash.digest('hex')}.rules-ok`);
    if (ok && fs.existsSync(ok)) return undefined;
    const empty = path.join(os.tmpdir(), `meridian-guard-empty-${process.pid}.json`);
    fs.writeFileSync(empty, '{"Resources":{}}');
    const run = spawnSync(
      GUARD_BINARY,
      [
        'validate',
        ...files.flatMap((f) => ['--rules', f]),
        '--data',
        empty,
        '--show-summary',
        'none',
      ],
      { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
    );
    fs.rmSync(empty, { force: true });
    const broken = [
      ...(run.stderr ?? '').matchAll(/Parsing error handling rule file = ([^,]+)/g),
    ].map((m) => m[1] as string);
    if (run.error || broken.length > 0)
      return {
        ruleName: 'guard-did-not-run',
        description: run.error
          ? `cfn-guard could not start (${GUARD_BINARY}): ${run.error.message}`
          : `cfn-guard cannot parse ${broken.join(', ')}: those rules would be skipped silently`,
        fix: 'Fix or remove the rule files named; the shipped Control Tower rules parse.',
        severity: 'error',
        violatingResources: [],
      };
    if (ok) {
      fs.mkdirSync(path.dirname(ok), { recursive: true });
      fs.writeFileSync(ok, `${files.length} rule files parse\n`);
    }
    return undefined;
  }

  validate(context: IPolicyValidationContext): PolicyValidationPluginReport {
    const broken = this.unparsable();
    if (broken) return { success: false, violations: [broken] };
    const templates = context.templatePaths.map((p) => ({
      path: p,
      template: JSON.parse(fs.readFileSync(p, 'utf8')) as Template,
    }));
    const dir = path.join(
      PROJECT_ROOT,
      '.build',
      'guard',
      crypto
        .createHash('sha256')
        .update(context.templatePaths.join('\n'))
        .digest('hex')
        .slice(0, 12),
    );
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    const violations: PolicyViolation[] = [];
    const jobs: GuardJob[] = [];
    for (const group of this.groups) {
      const texts: string[] = [];
      const originals: string[] = [];
      for (const { path: p, template } of templates) {
        const resources = slice(template, group.types);
        if (Object.keys(resources).length === 0) continue;
        texts.push(JSON.stringify({ ...template, Resources: resources }));
        originals.push(p);
      }
      if (texts.length === 0) continue;
      const checked = this.cachedOrJob(group, texts, originals, dir);
      if ('cached' in checked) violations.push(...checked.cached);
      else jobs.push(checked);
    }
    const results = runGroups(jobs);
    jobs.forEach((job, i) => {
      violations.push(...job.settle(results[i] as GroupResult));
    });
    fs.rmSync(dir, { recursive: true, force: true });
    return {
      success: violations.length === 0,
      violations: violations.map((v) => ({ ...v, severity: v.severity ?? 'error' })),
    };
  }
}

/** A rule group to run over its slice files, and what to do with the result. */
interface GuardJob {
  readonly files: readonly string[];
  readonly slices: readonly string[];
  /** Relative cost (bytes × rule files), for sharing jobs between threads. */
  readonly weight: number;
  settle(result: GroupResult): PolicyViolation[];
}

interface GroupResult {
  readonly violations: PolicyViolation[];
  readonly ran: boolean;
}

const GUARD_MAX_BUFFER = 256 * 1024 * 1024;

/**
 * A guard that could not run becomes a violation: aws-cdk-lib turns a plugin that throws into a
 * "failure" conclusion that does NOT fail synth, and it must never read as a pass.
 */
const didNotRun = (files: readonly string[], message: string): GroupResult => ({
  ran: false,
  violations: [
    {
      ruleName: 'guard-did-not-run',
      description: `cfn-guard failed on ${files.map((f) => path.basename(f)).join(', ')}: ${message.trim().split('\n').pop()}`,
      fix: 'Run `npm run synth` again; if it persists, report it with the template that triggers it.',
      severity: 'error',
      violatingResources: [],
    },
  ],
});

/** A worker: the package's own runner (its result parsing included) over its share of the jobs. */
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
try {
  const { CfnGuardValidator } = require(workerData.plugin);
  workerData.port.postMessage(workerData.jobs.map((job) => {
    try {
      const report = new CfnGuardValidator({
        controlTowerRulesEnabled: false,
        rules: job.files,
        maxBuffer: workerData.maxBuffer,
      }).validate({ templatePaths: job.slices });
      return { index: job.index, violations: report.violations, ran: true };
    } catch (err) {
      return { index: job.index, error: String((err && err.message) || err) };
    }
  }));
} finally {
  Atomics.add(workerData.done, 0, 1);
  Atomics.notify(workerData.done, 0);
}
`;

/** How long synth waits for the guard threads before it reports the missing groups as failed. */
const GUARD_DEADLINE_MS = 10 * 60 * 1000;

/**
 * Runs the groups on every core (`threads` worker threads). Validation plugins are synchronous, and
 * each group is a cfn-guard process the runner waits for, so the groups are shared between worker
 * threads (heaviest first, to the least loaded) and this thread blocks until all have answered.
 * Findings are those of one group at a time, in the same order.
 */
export function runGroups(
  jobs: readonly Pick<GuardJob, 'files' | 'slices' | 'weight'>[],
  threads = Math.min(os.availableParallelism(), jobs.length),
): GroupResult[] {
  if (jobs.length === 0) return [];
  const shares = Array.from({ length: Math.max(1, threads) }, () => ({
    load: 0,
    jobs: [] as { index: number; files: string[]; slices: string[] }[],
  }));
  [...jobs.keys()]
    .sort((a, b) => (jobs[b]?.weight ?? 0) - (jobs[a]?.weight ?? 0))
    .forEach((index) => {
      const job = jobs[index] as GuardJob;
      const share = shares.reduce((a, b) => (b.load < a.load ? b : a));
      share.load += job.weight;
      share.jobs.push({ index, files: [...job.files], slices: [...job.slices] });
    });
  const done = new Int32Array(new SharedArrayBuffer(4));
  const ports = shares.map((share) => {
    const { port1, port2 } = new MessageChannel();
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        jobs: share.jobs,
        plugin: require.resolve('@cdklabs/cdk-validator-cfnguard'),
        maxBuffer: GUARD_MAX_BUFFER,
        port: port2,
        done,
      },
      transferList: [port2],
    });
    worker.unref();
    return { port1, worker, share };
  });
  const deadline = Date.now() + GUARD_DEADLINE_MS;
  for (let n = Atomics.load(done, 0); n < ports.length && Date.now() < deadline; )
    if (Atomics.wait(done, 0, n, deadline - Date.now()) !== 'timed-out') n = Atomics.load(done, 0);
  const results: GroupResult[] = new Array(jobs.length);
  for (const { port1, worker, share } of ports) {
    const answer = receiveMessageOnPort(port1)?.message as
      | { index: number; violations?: PolicyViolation[]; ran?: boolean; error?: string }[]
      | undefined;
    for (const job of share.jobs) {
      const r = answer?.find((a) => a.index === job.index);
      results[job.index] =
        r && r.error === undefined
          ? { violations: r.violations ?? [], ran: r.ran ?? false }
          : didNotRun(job.files, r?.error ?? 'the guard worker gave no answer');
    }
    port1.close();
    void worker.terminate();
  }
  return results;
}
