/**
 * Every command line README.md and regions/README.md show runs in a test (issue 15).
 *
 * The commands are read from the READMEs at test time; each must match exactly one check below,
 * so a newly documented command fails this file until someone says how it is tested. Commands
 * that run offline run verbatim (bash, in a throw-away fork of the project whose `regions/` is
 * test/fixtures/minimal: us-east-1, eu-west-1, eu-central-1 and a staging overlay), so nothing
 * here overwrites the committed reports/ or depends on the user's own regions/. Commands that
 * need AWS are checked against what they would act on in the fork's synthesized output.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../lib/config/load';
import { ConfigError } from '../../lib/config/problems';
import { load, MINIMAL } from '../support/fixture';
import {
  expectedLine,
  ok,
  PROJECT_ROOT,
  ProjectFork,
  type ReadmeCommand,
  type Run,
  readmeCommands,
  type SynthesizedStack,
  stacksOf,
} from '../support/readme-commands';

const commands = [
  ...readmeCommands(path.join(PROJECT_ROOT, 'README.md'), 'README.md'),
  ...readmeCommands(path.join(PROJECT_ROOT, 'regions', 'README.md'), 'regions/README.md'),
];

const SYNTH_SECONDS = 300;
let fork: ProjectFork;

/** A synth run's stacks (the copy taken right after it, so later runs cannot change them). */
function stacks(run: Run): SynthesizedStack[] {
  if (!run.out) throw new Error(`\`${run.line}\` wrote no cdk.out/manifest.json`);
  return stacksOf(run.out);
}

const prod = () => ok(fork.run('npm run synth'));
const fixtureRegions = () =>
  fs
    .readdirSync(MINIMAL)
    .filter((f) => f.endsWith('.yaml') && f !== 'global.yaml')
    .map((f) => f.replace(/\.yaml$/, ''))
    .sort();
const packageJson = () =>
  JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
  };
const ciRun = () => fs.readFileSync(path.join(PROJECT_ROOT, '.ci', 'run'), 'utf8');

/** The README names regions of the shipped example; the fork has the minimal fixture's. */
function inFork(region: string): string {
  if (!fixtureRegions().includes(region))
    throw new Error(
      `the README names ${region}, which test/fixtures/minimal lacks: substitute a fixture region in this check and say so`,
    );
  return region;
}

function resourcesOf(stack: SynthesizedStack, type: string) {
  return Object.values(stack.template.Resources).filter((r) => r.Type === type);
}

function validationPlugins(run: Run): string[] {
  const report = JSON.parse(
    fs.readFileSync(path.join(run.out as string, 'cdk.out', 'validation-report.json'), 'utf8'),
  ) as { pluginReports: { pluginName: string }[] };
  return report.pluginReports.map((p) => p.pluginName);
}

/** `eu-west-1`'s capacity as the failover runbooks carry it, one value per occurrence. */
function capacitiesOf(run: Run, region: string): number[] {
  const re = new RegExp(`\\\\"id\\\\":\\\\"${region}\\\\",[^}]*?\\\\"capacity\\\\":(\\d+)`, 'g');
  return stacks(run).flatMap((s) => [...s.templateText.matchAll(re)].map((m) => Number(m[1])));
}

/** Leaves of `b` that differ from `a` (dotted path → value). */
function changedLeaves(a: unknown, b: unknown, at = ''): Record<string, unknown> {
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null)
    return Object.is(a, b) ? {} : { [at]: b };
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return Object.assign(
    {},
    ...[...keys].map((k) =>
      changedLeaves(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        at ? `${at}.${k}` : k,
      ),
    ),
  );
}

/** What one `MERIDIAN__…=value` variable changes in the fork's loaded configuration. */
function changedBy(variable: string, value: string): Record<string, unknown> {
  const dir = path.join(fork.dir, 'regions');
  return changedLeaves(
    loadConfig({ dir, env: 'prod', environ: {} }),
    loadConfig({ dir, env: 'prod', environ: { [variable]: value } }),
  );
}

/** The flags each CLI accepts: its `--help` must name every one. */
const FLAGS: Record<string, readonly string[]> = {
  synth: ['--env', '--check', '-c', '--help'],
  drill: ['--fail', '--mode', '--scenario', '--matrix', '--region', '--env', '--help'],
  failover: ['--from', '--mode', '--reason', '--failback', '--env', '--help'],
  report: ['--cdk-out', '--cdktf-out', '--out', '--help'],
  bench: ['--quick', '--help'],
  dsr: ['--subject', '--jurisdiction', '--request-id', '--env', '--help'],
  lineage: [
    '--event',
    '--entity-token',
    '--entity',
    '--key-file',
    '--from',
    '--region',
    '--since',
    '--env',
    '--help',
  ],
};

function helpOf(script: string): void {
  const run = ok(fork.run(`npm run ${script} -- --help`));
  const usage = run.stdout.slice(run.stdout.indexOf('Usage:'));
  expect(usage).toMatch(new RegExp(`^Usage: npm run ${script}\\b`));
  for (const flag of FLAGS[script] ?? ['--help']) expect(usage).toMatch(new RegExp(`${flag}\\b`));
}

/** `npx cdk <verb> --help` exits 0 and names the flags the README line uses. */
function cdkHelp(verb: string, flags: readonly string[] = []): void {
  const run = ok(fork.run(`npx cdk ${verb} --help`));
  for (const flag of flags) expect(run.stdout + run.stderr).toContain(flag);
}

function synthOfEnv(env: string): Run {
  return env === 'prod' ? prod() : ok(fork.run(`npm run synth -- --env ${env}`));
}

interface Check {
  readonly pattern: RegExp;
  readonly check: (cmd: ReadmeCommand, m: RegExpExecArray) => void;
}

const CHECKS: readonly Check[] = [
  {
    // `npm install` itself is not run here: in the fork it would install through the node_modules
    // symlink into the project's own. The `npm install` check covers what it installs.
    pattern: /^(?:npm install && )?npm run synth$/,
    check: () => {
      const run = prod();
      const ids = stacks(run).map((s) => s.id);
      expect(stacks(run).map((s) => s.region)).toEqual(fixtureRegions());
      for (const id of ids) expect(run.stdout).toMatch(new RegExp(`^  ${id} +\\d+ resources`, 'm'));
      expect(run.stdout).toMatch(/^ {2}meridian-edge-prod +\d+ pools/m);
      expect(run.stdout).toContain('Detection + re-route, worst case per region');
      const out = run.out as string;
      expect(fs.existsSync(path.join(out, 'cdktf.out/stacks/meridian-edge-prod/cdk.tf.json'))).toBe(
        true,
      );
      for (const f of ['compliance.md', 'compliance.html'])
        expect(fs.existsSync(path.join(out, 'reports', f))).toBe(true);
      // The four cdk-nag packs and the Control Tower guard all ran.
      expect(validationPlugins(run)).toEqual(
        expect.arrayContaining([
          'AwsSolutions',
          'HIPAA.Security',
          'NIST.800.53.R5',
          'PCI.DSS.321',
          'cdk-validator-cfnguard',
        ]),
      );
    },
  },
  {
    // "installs exactly the versions pinned in package-lock.json": exact pins, the lock agrees.
    pattern: /^npm install$/,
    check: () => {
      const pkg = packageJson();
      const lock = JSON.parse(
        fs.readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'), 'utf8'),
      ) as { packages: Record<string, { dependencies?: object; devDependencies?: object }> };
      // Exact versions, a prerelease's included (@microsoft/jest-sarif has only 1.0.0-beta.0);
      // never a range.
      for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }))
        expect(`${name}@${version}`).toMatch(/@\d+\.\d+\.\d+(-[0-9A-Za-z.]+)?$/);
      expect(lock.packages['']?.dependencies).toEqual(pkg.dependencies);
      expect(lock.packages['']?.devDependencies).toEqual(pkg.devDependencies);
    },
  },
  {
    pattern: /^npm run synth -- --env (\w+)$/,
    check: (cmd, m) => {
      const env = m[1] as string;
      const run = ok(fork.run(cmd.line));
      expect(stacks(run).map((s) => s.id)).toEqual(
        fixtureRegions().map((r) => `Meridian-${env}-${r}`),
      );
      expect(fs.existsSync(path.join(run.out as string, 'reports', `compliance-${env}.md`))).toBe(
        true,
      );
    },
  },
  {
    // The overlay is picked with `-c env=<env>`: `npm run synth -- --env staging` passes exactly
    // that to cdk synth; its stacks carry the overlay's account and capacity.
    pattern: /^-c env=<env>$/,
    check: () => {
      const overlay = parseYaml(
        fs.readFileSync(path.join(fork.dir, 'regions', 'overlays', 'staging.yaml'), 'utf8'),
      ) as { global: { account: string }; regions: { 'eu-west-1': { capacity: number } } };
      const run = synthOfEnv('staging');
      for (const s of stacks(run)) expect(s.account).toBe(overlay.global.account);
      expect(new Set(capacitiesOf(run, 'eu-west-1'))).toEqual(
        new Set([overlay.regions['eu-west-1'].capacity]),
      );
    },
  },
  {
    pattern: /^npm run synth -- -c meridian:guard=off$/,
    check: (cmd) => {
      const run = ok(fork.run(cmd.line));
      expect(stacks(run).map((s) => s.id)).toEqual(stacks(prod()).map((s) => s.id));
      expect(validationPlugins(prod())).toContain('cdk-validator-cfnguard');
      expect(validationPlugins(run)).not.toContain('cdk-validator-cfnguard');
      expect(validationPlugins(run)).toContain('AwsSolutions');
    },
  },
  {
    // Three layers at once (one synth, not three): the account of every stack, the retention of
    // every log group, and eu-west-1's capacity in the cell description every runbook carries.
    pattern:
      /^MERIDIAN__GLOBAL__ACCOUNT=(\d{12}) MERIDIAN__GLOBAL__DEFAULTS__OBSERVABILITY__LOG_RETENTION_DAYS=(\d+) MERIDIAN__REGIONS__EU_WEST_1__CAPACITY=(\d+) npm run synth$/,
    check: (cmd, m) => {
      const run = ok(fork.run(cmd.line));
      expect(stacks(prod()).map((s) => s.account)).not.toContain(m[1]);
      expect(new Set(stacks(run).map((s) => s.account))).toEqual(new Set([m[1]]));
      const days = Number(m[2]);
      const retention = (r: Run) =>
        new Set(
          stacks(r).flatMap((s) =>
            resourcesOf(s, 'AWS::Logs::LogGroup').map((g) => g.Properties?.RetentionInDays),
          ),
        );
      expect(retention(prod())).not.toEqual(new Set([days]));
      expect(retention(run)).toEqual(new Set([days]));
      const before = capacitiesOf(prod(), inFork('eu-west-1'));
      expect(before.length).toBeGreaterThan(0);
      expect(before).not.toContain(Number(m[3]));
      expect(new Set(capacitiesOf(run, 'eu-west-1'))).toEqual(new Set([Number(m[3])]));
    },
  },
  {
    // A variable shown without a command: what it changes in the loaded configuration.
    pattern: /^(MERIDIAN__[A-Z0-9_]+)=(\S+)$/,
    check: (_cmd, m) => {
      const changed = changedBy(m[1] as string, m[2] as string);
      expect(Object.keys(changed).length).toBeGreaterThan(0);
      for (const v of Object.values(changed)) expect(String(v)).toBe(m[2]);
    },
  },
  {
    // The variables' syntax (placeholders): one instance of each form, and a refused key.
    pattern: /^MERIDIAN__(?:…|GLOBAL__<FIELD>.*|REGIONS__<REGION_ID>__<FIELD>.*)?$/,
    check: () => {
      expect(changedBy('MERIDIAN__GLOBAL__ACCOUNT', '999999999999')).toEqual({
        'global.account': '999999999999',
      });
      const capacity = Object.values(changedBy('MERIDIAN__REGIONS__US_EAST_1__CAPACITY', '7'));
      expect(capacity.length).toBeGreaterThan(0);
      for (const v of capacity) expect(v).toBe(7);
      const dir = path.join(fork.dir, 'regions');
      expect(() =>
        loadConfig({ dir, env: 'prod', environ: { MERIDIAN__GLOBAL__CONSTRUCTOR: 'x' } }),
      ).toThrow(ConfigError);
    },
  },
  {
    pattern: /^terraform -chdir=(\S+) init && … apply$/,
    check: (_cmd, m) => {
      const file = path.join(prod().out as string, m[1] as string, 'cdk.tf.json');
      const tf = JSON.parse(fs.readFileSync(file, 'utf8')) as { provider: object };
      expect(Object.keys(tf.provider)).toContain('cloudflare');
    },
  },
  {
    // No AWS here: the function it names exists in the region's template (the region from the
    // line, or from the line before it when this one elides it with `…`), and the handler reads
    // every payload field.
    pattern: /^aws lambda invoke /,
    check: (cmd) => {
      const both = `${cmd.line} ${cmd.line.includes('…') ? (cmd.previous ?? '') : ''}`;
      const fn = /<the (\w+)\/(\w+) function>/.exec(both);
      if (!fn) throw new Error(`no <the X/Y function> in or before ${cmd.line}`);
      const region = /--region (\S+)/.exec(both)?.[1];
      // Without --region: some region has it (Sync functions exist in writer regions only).
      const having = stacks(prod())
        .filter((s) =>
          resourcesOf(s, 'AWS::Lambda::Function').some(
            (r) => r.Metadata?.['aws:cdk:path'] === `${s.id}/${fn[1]}/${fn[2]}/Function/Resource`,
          ),
        )
        .map((s) => s.region);
      if (region) expect(having).toContain(inFork(region));
      else expect(having.length).toBeGreaterThan(0);
      const payload = /--payload '([^']*)'/.exec(cmd.line)?.[1];
      if (payload) {
        const name = (fn[2] as string).toLowerCase();
        const sources = [
          path.join(
            PROJECT_ROOT,
            'lambda',
            `${(fn[1] as string).toLowerCase()}-${name}`,
            'index.ts',
          ),
          path.join(
            PROJECT_ROOT,
            'lambda',
            'shared',
            (fn[1] as string).toLowerCase(),
            `${name}.ts`,
          ),
        ]
          .filter((f) => fs.existsSync(f))
          .map((f) => fs.readFileSync(f, 'utf8'))
          .join('\n');
        for (const key of Object.keys(JSON.parse(payload)))
          expect(sources).toMatch(new RegExp(`readonly ${key}\\?:`));
      }
    },
  },
  {
    pattern: /^npx cdk bootstrap aws:\/\/<account>\/([a-z0-9-]+)$/,
    check: (_cmd, m) => {
      cdkHelp('bootstrap');
      expect(stacks(prod()).map((s) => s.region)).toContain(inFork(m[1] as string));
    },
  },
  {
    // The stack must exist in what `cdk synth -c env=<env>` gives (synth.mjs passes exactly that).
    pattern: /^npx cdk (deploy|diff)(?: -c env=(\w+))? (Meridian-(\w+)-([a-z0-9-]+))$/,
    check: (_cmd, m) => {
      const [, verb, envFlag, id, env, region] = m as unknown as string[];
      cdkHelp(verb as string, envFlag ? ['--context'] : []);
      expect(env).toBe(envFlag ?? 'prod');
      inFork(region as string);
      expect(stacks(synthOfEnv(env as string)).map((s) => s.id)).toContain(id);
    },
  },
  {
    // --all follows the stack dependencies: in the fixture, eu-central-1 joins eu-west-1's cell.
    pattern: /^npx cdk deploy --all$/,
    check: () => {
      cdkHelp('deploy', ['--all']);
      const run = prod();
      const manifest = JSON.parse(
        fs.readFileSync(path.join(run.out as string, 'cdk.out', 'manifest.json'), 'utf8'),
      ) as { artifacts: Record<string, { dependencies?: string[] }> };
      expect(manifest.artifacts['Meridian-prod-eu-central-1']?.dependencies).toContain(
        'Meridian-prod-eu-west-1',
      );
    },
  },
  {
    pattern: /^cdk diff$/,
    check: () => {
      cdkHelp('diff', ['--context']);
      const workflow = fs.readFileSync(
        path.join(PROJECT_ROOT, '.github', 'workflows', 'meridian.yml'),
        'utf8',
      );
      expect(workflow).toMatch(/run: npx cdk diff "Meridian-/);
    },
  },
  {
    pattern: /^npm run failover -- (?!--help$)/,
    check: (cmd) => {
      const run = ok(fork.run(cmd.line));
      const start =
        /^aws stepfunctions start-execution --region (\S+) --state-machine-arn arn:aws:states:\S+:stateMachine:(\S+) /m.exec(
          run.stdout,
        );
      if (!start) throw new Error(`no start-execution line in:\n${run.stdout}`);
      const machines = stacks(prod())
        .filter((s) => s.region === start[1])
        .flatMap((s) => resourcesOf(s, 'AWS::StepFunctions::StateMachine'))
        .map((r) => r.Properties?.StateMachineName);
      expect(machines).toContain(start[2]);
      for (const line of cmd.expected) expect(run.stdout).toMatch(expectedLine(line));
    },
  },
  {
    // Runs without the optional `[--mode switchover]`, whose mode its --help must list: a second
    // drill costs about a minute, and test/failover/drill.test.ts executes the planned switchover.
    // A region alone in its fixture cell (us-east-1 is) would have its runbook run in the failed
    // region itself: the drill then runs on the fixture's eu-west-1, which eu-central-1 takes over
    // as us-west-2 takes over us-east-1 in the shipped example.
    pattern: /^npm run drill -- --fail ([a-z0-9-]+)(?: \[--mode (\w+)\])?$/,
    check: (_cmd, m) => {
      if (m[2])
        expect(ok(fork.run('npm run drill -- --help')).stdout).toMatch(
          new RegExp(`--mode [\\w|]*\\b${m[2]}\\b`),
        );
      const named = inFork(m[1] as string);
      const config = loadConfig({ dir: path.join(fork.dir, 'regions'), env: 'prod', environ: {} });
      const cellOf = (id: string) => config.regions.find((r) => r.id === id)?.jurisdiction;
      const alone = config.regions.filter((r) => cellOf(r.id) === cellOf(named)).length === 1;
      const region = alone ? inFork('eu-west-1') : named;
      const run = ok(fork.run(`npm run drill -- --fail ${region}`));
      const runbook = /^Drill: \S+ .*; runbook (\S+)$/m.exec(run.stdout)?.[1];
      const machines = stacks(prod()).flatMap((s) =>
        resourcesOf(s, 'AWS::StepFunctions::StateMachine').map(
          (r) => r.Properties?.StateMachineName,
        ),
      );
      expect(machines).toContain(runbook);
      expect(run.stdout).toMatch(/^Timeline \(state entered, ms from start\):$/m);
      expect(run.stdout).toMatch(/^Changes:$/m);
      expect(run.stdout).toMatch(/^Outcome: failed over$/m);
      // The README's timings: traffic off by health checks (10 s × 3 + TTL 30 s), page within
      // 43 s, measured in the drill from the watchers' votes.
      expect(run.stdout).toMatch(new RegExp(`^Traffic off ${region}: 60 s after the failure`, 'm'));
      expect(run.stdout).toMatch(
        /^Page: [\d.]+ s after the failure, measured in the drill \(at most 43 s/m,
      );
      expect(Number(/^Page: ([\d.]+) s/m.exec(run.stdout)?.[1])).toBeLessThanOrEqual(43);
      expect(run.stdout).toMatch(/^Writes accepted in \S+: [\d.]+ s after the runbook starts/m);
    },
  },
  {
    // The subject-request drill on the fork's regions: the machine of the jurisdiction's home
    // completes and nothing of the made-up subject is left; with a region of the cell down, it
    // ends incomplete naming that region, with exit code 2.
    pattern: /^npm run drill -- --dsr erase --jurisdiction ([a-z]+)(?: --down ([a-z0-9-]+))?$/,
    check: (cmd, m) => {
      const run = fork.run(cmd.line);
      if (!m[2]) {
        ok(run);
        expect(run.stdout).toMatch(/^Outcome: complete$/m);
        expect(run.stdout).toMatch(
          /^Left of the subject anywhere, once replication caught up:\n {2}nothing$/m,
        );
      } else {
        expect(run.status).toBe(2);
        expect(run.stdout).toContain(`${m[2]}: not reached after the retries (RegionUnreachable)`);
        expect(run.stdout).toMatch(/^Outcome: FAILED \(SubjectRequestIncomplete\)$/m);
      }
      expect(run.stdout).toMatch(
        new RegExp(`^Subject-request drill: erase of \\S+ \\(jurisdiction ${m[1]}\\)$`, 'm'),
      );
    },
  },
  {
    // One game-day scenario, run (about a minute; on the fixture its default cell is eu:
    // eu-west-1 fails, eu-central-1 takes over). The README shows the output lines that hold for
    // any cell and start mode, compared with blanks collapsed; every scenario the drill offers is
    // listed in the README by name.
    pattern: /^npm run drill -- --scenario ([a-z-]+)$/,
    check: (cmd, m) => {
      const run = ok(fork.run(cmd.line));
      const flat = (t: string) =>
        t
          .split('\n')
          .map((l) => l.trim().replace(/\s+/g, ' '))
          .join('\n');
      expect(run.stdout).toMatch(new RegExp(`^Scenario ${m[1]}: `, 'm'));
      expect(cmd.expected.length).toBeGreaterThan(0);
      for (const line of cmd.expected) expect(flat(run.stdout)).toMatch(expectedLine(flat(line)));
      const help = ok(fork.run('npm run drill -- --help')).stdout;
      const offered = /--scenario <name>\s+a game-day scenario: (.+)$/m
        .exec(help)?.[1]
        ?.split(', ');
      expect(offered?.length).toBeGreaterThan(0);
      const readme = fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8');
      for (const name of offered ?? []) expect(readme).toMatch(new RegExp(`^- \`${name}\`: `, 'm'));
    },
  },
  {
    pattern: /^npm run report$/,
    check: (cmd) => {
      prod();
      fs.rmSync(path.join(fork.dir, 'reports'), { recursive: true, force: true });
      const run = ok(fork.run(cmd.line));
      expect(run.stdout).toMatch(
        new RegExp(
          `^compliance report \\(prod\\): reports/compliance\\.md, reports/compliance\\.html, reports/compliance\\.sarif, reports/compliance\\.oscal\\.json — ${fixtureRegions().length} regions, \\d+ replication edges`,
          'm',
        ),
      );
      for (const f of [
        'compliance.md',
        'compliance.html',
        'compliance.sarif',
        'compliance.oscal.json',
      ])
        expect(fs.existsSync(path.join(fork.dir, 'reports', f))).toBe(true);
    },
  },
  {
    pattern: /^npm run (synth|drill|failover|report|bench|lineage|dsr) -- --help$/,
    check: (_cmd, m) => helpOf(m[1] as string),
  },
  {
    // The bare name of a tool that needs arguments: what it takes is its --help.
    pattern: /^npm run (drill|failover|lineage|dsr)$/,
    check: (_cmd, m) => helpOf(m[1] as string),
  },
  {
    // One invoke per cell the plan let the subject's records reach, home first, of a function the
    // region's stack deploys under that name; the deadline is the jurisdiction's.
    pattern:
      /^npm run dsr -- (access|erase|rectify) --subject \S+ --jurisdiction ([a-z]+)(?: --corrected-at \S+)?$/,
    check: (cmd, m) => {
      const run = ok(fork.run(cmd.line));
      const invokes = [
        ...run.stdout.matchAll(/^aws lambda invoke --region (\S+) --function-name (\S+) /gm),
      ];
      expect(invokes.length).toBeGreaterThan(0);
      for (const [, region, name] of invokes) {
        const stack = stacks(prod()).find((s) => s.region === region);
        if (!stack) throw new Error(`no stack for ${region}`);
        expect(
          resourcesOf(stack, 'AWS::Lambda::Function').map((r) => r.Properties?.FunctionName),
        ).toContain(name);
      }
      const home = load(MINIMAL).plan.cells.find((c) => c.jurisdiction === m[2]);
      expect(invokes[0]?.[1]).toBe(home?.primary);
      // The start command names the jurisdiction's state machine in the home cell's primary.
      const start =
        /^aws stepfunctions start-execution --region (\S+) --state-machine-arn arn:aws:states:\S+:stateMachine:(\S+) --name (\S+) --input file:\/\/(\S+)$/m.exec(
          run.stdout,
        );
      expect(start?.[1]).toBe(home?.primary);
      const runFrom = stacks(prod()).find((s) => s.region === start?.[1]);
      if (!runFrom) throw new Error(`no stack for ${start?.[1]}`);
      const machines = resourcesOf(runFrom, 'AWS::StepFunctions::StateMachine').map(
        (r) => r.Properties?.StateMachineName,
      );
      expect(machines).toContain(start?.[2]);
      expect(run.stdout).toContain(`cat > ${start?.[4]} <<'JSON'`);
      expect(run.stdout).toMatch(/^# Due by \d{4}-\d{2}-\d{2}: \d+ days /m);
      expect(run.stdout).toContain(`"action": "${m[1]}"`);
    },
  },
  {
    // The query names the region's Glue database and runs in its workgroup: both are in the
    // region's synthesized stack.
    pattern: /^npm run lineage -- --event \S+ --region ([a-z0-9-]+)(?: --since \S+)?$/,
    check: (cmd, m) => {
      const run = ok(fork.run(cmd.line));
      const wg = /^ {2}--work-group (\S+) \\$/m.exec(run.stdout)?.[1];
      const db = /FROM "(\w+)"\."(\w+)"/.exec(run.stdout);
      const stack = stacks(prod()).find((s) => s.region === m[1]);
      if (!stack) throw new Error(`no stack for ${m[1]}`);
      expect(resourcesOf(stack, 'AWS::Athena::WorkGroup').map((r) => r.Properties?.Name)).toContain(
        wg,
      );
      const table = resourcesOf(stack, 'AWS::Glue::Table')[0]?.Properties as
        | { DatabaseName?: string; TableInput?: { Name?: string } }
        | undefined;
      expect([table?.DatabaseName, table?.TableInput?.Name]).toEqual([db?.[1], db?.[2]]);
    },
  },
  {
    // Not run here: the whole matrix takes about two minutes of the machine on the shipped cells.
    // Its code runs in test/failover/matrix.test.ts (the minimal fixture's eu cell, every
    // single-node isolation and every cut link of the writer); here the drill offers it.
    pattern: /^npm run drill -- --matrix$/,
    check: () => helpOf('drill'),
  },
  {
    // Not run: the benchmark takes minutes of the whole machine. CI runs the quick one on every
    // run (.ci/run), so a bench that stops working fails CI.
    pattern: /^npm run bench(?: -- --quick)?$/,
    check: () => {
      expect(packageJson().scripts.bench).toBe('tsx bench/main.ts');
      expect(ciRun()).toMatch(/^npm run bench -- --quick$/m);
      helpOf('bench');
    },
  },
  {
    // Not run: mutation testing takes about an hour of the whole machine (not in CI either). The
    // check: the script runs Stryker and writes the bench figures, over the modules the README names.
    pattern: /^(?:DATABASE_URL=\S+ )?npm run mutate$/,
    check: () => {
      expect(packageJson().scripts.mutate).toBe('stryker run && tsx bench/mutation.ts');
      const config = fs.readFileSync(path.join(PROJECT_ROOT, 'stryker.config.mjs'), 'utf8');
      for (const module of ['residency-plan.ts', 'conflict.ts', 'hlc.ts', 'masking.ts', 'lock.ts'])
        expect(config).toContain(module);
      expect(ciRun()).not.toMatch(/npm run mutate/);
    },
  },
  {
    // The suite itself (it runs this file): what CI runs, and what `npm test` is made of.
    pattern: /^(?:npm install && )?npm test$/,
    check: () => {
      expect(ciRun()).toMatch(/^npm install && npm test$/m);
      expect(packageJson().scripts.test).toBe(
        'npm run typecheck && npm run lint && npm run test:unit && npm run test:synth',
      );
      expect(packageJson().scripts['test:synth']).toBe('node scripts/synth.mjs --check');
    },
  },
  {
    // "tsc --noEmit (strict, noUncheckedIndexedAccess)"; run by `npm test`, not here.
    pattern: /^npm run typecheck$/,
    check: () => {
      expect(packageJson().scripts.typecheck).toBe('tsc --noEmit');
      const tsconfig = JSON.parse(
        fs.readFileSync(path.join(PROJECT_ROOT, 'tsconfig.json'), 'utf8'),
      ) as { compilerOptions: Record<string, unknown> };
      expect(tsconfig.compilerOptions).toMatchObject({
        strict: true,
        noUncheckedIndexedAccess: true,
      });
    },
  },
  {
    // "biome (format + lint); npm run format fixes"; run by `npm test`, not here.
    pattern: /^npm run lint$/,
    check: () => {
      expect(packageJson().scripts.lint).toBe('biome check .');
      expect(packageJson().scripts.format).toBe('biome check --write .');
    },
  },
  {
    // Not run from here: a jest inside this jest over folders other engineers change, and
    // test/config alone is well over 30 s on 2 cores. The script adds the flag and the folder
    // has tests.
    pattern: /^npm run jest -- (test\/[\w/-]+)$/,
    check: (_cmd, m) => {
      expect(packageJson().scripts.jest).toContain('--experimental-vm-modules');
      expect(fs.readdirSync(path.join(PROJECT_ROOT, m[1] as string))).toEqual(
        expect.arrayContaining([expect.stringMatching(/\.test\.ts$/)]),
      );
    },
  },
  {
    // The server CI provides: the same URL as .ci/run's default.
    pattern: /^DATABASE_URL=(\S+) npm run jest -- (test\/[\w/-]+)$/,
    check: (_cmd, m) => {
      expect(ciRun()).toContain(`DATABASE_URL="\${DATABASE_URL:-${m[1]}}"`);
      expect(fs.existsSync(path.join(PROJECT_ROOT, m[2] as string))).toBe(true);
    },
  },
];

function checksFor(cmd: ReadmeCommand) {
  return CHECKS.flatMap((c) => {
    const m = c.pattern.exec(cmd.line);
    return m ? [{ c, m }] : [];
  });
}

beforeAll(() => {
  fork = new ProjectFork(MINIMAL);
  prod(); // bundles, template validation and guard caches warm up once, here
}, SYNTH_SECONDS * 1000);

afterAll(() => {
  if (!fork) return;
  const runs = fork.allRuns();
  process.stdout.write(
    `readme commands: ${runs.length} runs, ${runs.reduce((t, r) => t + r.seconds, 0).toFixed(0)} s\n${runs
      .map((r) => `  ${r.seconds.toFixed(1).padStart(6)} s  ${r.line}`)
      .join('\n')}\n`,
  );
  fork.remove();
});

test('the READMEs show commands, and each has exactly one check', () => {
  expect(commands.length).toBeGreaterThan(20);
  const problems = commands.flatMap((cmd) => {
    const n = checksFor(cmd).length;
    if (n === 1) return [];
    return n === 0
      ? [`README command has no test: ${cmd.line}; add a check in test/cli/readme-commands.test.ts`]
      : [`README command has ${n} checks: ${cmd.line}; make exactly one pattern match it`];
  });
  expect(problems).toEqual([]);
});

test.each(commands.map((c) => [`${c.line}  (${c.sources.join(', ')})`, c] as const))(
  '%s',
  (_name, cmd) => {
    const [match] = checksFor(cmd);
    if (!match)
      throw new Error(
        `README command has no test: ${cmd.line}; add a check in test/cli/readme-commands.test.ts`,
      );
    match.c.check(cmd, match.m);
  },
  SYNTH_SECONDS * 1000,
);

test.each(Object.keys(FLAGS))('npm run %s -- --help exits 0 and names every flag', (script) =>
  helpOf(script),
);
