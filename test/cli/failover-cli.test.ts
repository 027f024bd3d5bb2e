import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PLACEHOLDER_ACCOUNTS } from '../../lib/config/schema';
import {
  failbackCommand,
  failoverInput,
  placeholderAccountWarning,
  runnerRegion,
} from '../../lib/failover/runner';
import { copyRegions, EIGHT_REGIONS, load, MINIMAL } from '../support/fixture';

const root = path.join(__dirname, '..', '..');

/** `script` of this project run by tsx in `cwd`, with no MERIDIAN__ variables but `environ`'s. */
const cli = (
  script: string,
  args: readonly string[],
  cwd: string,
  environ: NodeJS.ProcessEnv = {},
) =>
  spawnSync('node', [path.join(root, 'node_modules/.bin/tsx'), path.join(root, script), ...args], {
    cwd,
    encoding: 'utf8',
    env: {
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MERIDIAN'))),
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...environ,
    },
  });

/**
 * `npm run failover -- <args>` run where `regions/` is a copy of test/fixtures/minimal (us-east-1
 * alone in cell us; eu-west-1 then eu-central-1 in cell eu; account 111111111111, the shipped
 * placeholder), with no MERIDIAN__ variables but `environ`'s.
 */
const minimal = path.dirname(copyRegions(MINIMAL));
const failover = (args: readonly string[], environ: NodeJS.ProcessEnv = {}) =>
  cli('bin/failover.ts', args, minimal, environ);

afterAll(() => fs.rmSync(minimal, { recursive: true, force: true }));

const START = /^aws stepfunctions start-execution .*$/m;
/** The line printed right before the start-execution line. */
const lineBeforeStart = (stdout: string): string | undefined => {
  const lines = stdout.split('\n');
  return lines[lines.findIndex((l) => START.test(l)) - 1];
};
const NO_STACK = /^\s+at /m;

describe('npm run failover (test/fixtures/minimal)', () => {
  test('prints the execution input and the start-execution line for the region it activates', () => {
    const run = failover(['--from', 'eu-west-1', '--mode', 'switchover', '--reason', 'patching']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      '# Failover of eu-west-1 (cell eu), mode switchover, run from eu-central-1',
    );
    expect(run.stdout).not.toContain('No target');
    expect(run.stdout).toMatch(
      /^aws stepfunctions start-execution --region eu-central-1 --state-machine-arn arn:aws:states:eu-central-1:111111111111:stateMachine:meridian-prod-eu-central-1-failover --name failover-eu-west-1-\d{8}T\d{6} --input '\{"cell":"eu","failedRegion":"eu-west-1","mode":"switchover","reason":"patching"\}'$/m,
    );
  });

  test('--failback prints the failback input and its start-execution line', () => {
    const run = failover(['--failback', 'eu-west-1']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /^aws stepfunctions start-execution --region eu-central-1 --state-machine-arn arn:aws:states:eu-central-1:111111111111:stateMachine:meridian-prod-eu-central-1-failback --name failback-eu-west-1-\d{8}T\d{6} --input '\{"cell":"eu","originalRegion":"eu-west-1","currentRegion":"eu-central-1"\}'$/m,
    );
  });

  test('us-east-1, alone in its cell: no target, manual intervention, nothing promoted', () => {
    const run = failover(['--from', 'us-east-1']);
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('# No target: us-east-1 is the only region of cell us.\n');
    expect(run.stdout).toContain(
      '# The runbook will end in manual intervention: nothing will be promoted (never a region of another jurisdiction), and there is no RTO to expect.\n',
    );
    expect(run.stdout).toContain('# It runs in us-east-1 itself');
    expect(run.stdout).not.toMatch(/RTO: \d/);
    expect(run.stdout).toMatch(
      /^aws stepfunctions start-execution --region us-east-1 .*meridian-prod-us-east-1-failover /m,
    );
  });

  test('a failoverTo that names no region of the cell: no target either, and says why', () => {
    const run = failover(['--from', 'eu-west-1'], {
      MERIDIAN__REGIONS__EU_WEST_1__FAILOVER_TO: '[]',
    });
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      '# No target: the failoverTo of eu-west-1 names none of the other regions of cell eu.\n',
    );
    expect(run.stdout).toContain('nothing will be promoted');
    expect(run.stdout).toMatch(/^aws stepfunctions start-execution --region eu-west-1 /m);
  });

  describe('the placeholder account', () => {
    test.each([
      [['--from', 'eu-west-1'], 'eu-central-1'],
      [['--from', 'us-east-1'], 'us-east-1'],
      [['--failback', 'eu-west-1'], 'eu-central-1'],
    ])(
      '%j: a # WARNING line on stdout right before the start command, naming %s',
      (args, region) => {
        const run = failover(args);
        expect(run.status).toBe(0);
        expect(run.stderr).toBe('');
        expect(lineBeforeStart(run.stdout)).toBe(
          `# WARNING: account 111111111111 is a placeholder (Meridian ships it), not a real AWS account: this command starts no runbook of yours. Set \`account\` in regions/global.yaml (or regions/${region}.yaml, or the overlay), then print the command again.`,
        );
        expect(run.stdout.match(/WARNING/g)).toHaveLength(1);
      },
    );

    test('a real account: no warning', () => {
      const run = failover(['--from', 'eu-west-1'], { MERIDIAN__GLOBAL__ACCOUNT: '999999999999' });
      expect(run.status).toBe(0);
      expect(run.stdout).not.toContain('WARNING');
      expect(run.stdout).toMatch(/arn:aws:states:eu-central-1:999999999999:/);
    });

    test('the account of the region the command acts in decides, not the global one', () => {
      // eu-west-1's runbook runs in eu-central-1: its account is the one the command targets.
      const real = { MERIDIAN__REGIONS__EU_CENTRAL_1__ACCOUNT: '999999999999' };
      expect(failover(['--from', 'eu-west-1'], real).stdout).not.toContain('WARNING');
      expect(failover(['--from', 'us-east-1'], real).stdout).toContain(
        '# WARNING: account 111111111111',
      );
    });

    test('every account the example ships (global and overlays) is in PLACEHOLDER_ACCOUNTS, and each warns', () => {
      const shipped = [
        load(EIGHT_REGIONS).global.account,
        ...fs
          .readdirSync(path.join(EIGHT_REGIONS, 'overlays'))
          .map((f) => load(EIGHT_REGIONS, { env: f.replace(/\.ya?ml$/, '') }).global.account),
      ];
      expect(shipped).toContain('111111111111');
      for (const account of shipped) expect(PLACEHOLDER_ACCOUNTS).toContain(account);
      for (const account of PLACEHOLDER_ACCOUNTS) {
        const config = load(MINIMAL, { environ: { MERIDIAN__GLOBAL__ACCOUNT: account } });
        expect(placeholderAccountWarning(config, 'us-east-1')).toMatch(
          new RegExp(`^# WARNING: account ${account} is a placeholder`),
        );
      }
    });
  });

  test.each([
    [
      ['--from', 'mars-1'],
      /^--from mars-1: not a region of regions\/ \(eu-central-1, eu-west-1, us-east-1\)\n$/,
    ],
    [['--failback', 'mars-1'], /^--failback mars-1: not a region of regions\//],
    [
      ['--failback', 'us-east-1'],
      /^--failback us-east-1: it is the only region of its jurisdiction/,
    ],
    [
      ['--from', 'eu-west-1', '--mode', 'yolo'],
      /^--mode yolo: expected one of auto, switchover, failover\n$/,
    ],
  ])('%j is refused with one line and exit 1', (args, message) => {
    const run = failover(args);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(NO_STACK);
  });

  test.each([
    [['--bogus'], "Unknown option '--bogus'"],
    [['--from', 'eu-west-1', '--form', 'x'], "Unknown option '--form'"],
    [['--from'], "Option '--from <value>' argument missing"],
    [['eu-west-1'], "Unexpected argument 'eu-west-1'"],
    [[], '--from <region> is required, e.g. --from eu-west-1'],
  ])('%j: the error, then the usage, on stderr; exit 1, no stack trace', (args, error) => {
    const run = failover(args);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.startsWith(`${error}`)).toBe(true);
    expect(run.stderr).toMatch(/\nUsage: npm run failover -- --from <region>/);
    expect(run.stderr).not.toMatch(NO_STACK);
  });

  test('--help: the usage on stdout, exit 0', () => {
    const run = failover(['--help']);
    expect(run.status).toBe(0);
    expect(run.stderr).toBe('');
    expect(run.stdout).toMatch(/^Usage: npm run failover -- --from <region>/);
    for (const flag of ['--from', '--mode', '--reason', '--failback', '--env', '--help'])
      expect(run.stdout).toContain(flag);
  });
});

describe('lib/failover/runner.ts names the flag the user typed', () => {
  const config = load(MINIMAL);
  test.each([
    ['runnerRegion(config, r)', '--from', () => runnerRegion(config, 'mars-1')],
    ["runnerRegion(config, r, '--fail')", '--fail', () => runnerRegion(config, 'mars-1', '--fail')],
    ['failoverInput(config, r, mode)', '--from', () => failoverInput(config, 'mars-1', 'auto')],
    [
      "failoverInput(config, r, mode, undefined, '--fail')",
      '--fail',
      () => failoverInput(config, 'mars-1', 'auto', undefined, '--fail'),
    ],
    ['failbackCommand(config, r)', '--failback', () => failbackCommand(config, 'mars-1')],
  ])('%s: a region regions/ lacks is refused as %s', (_name, flag, call) => {
    expect(call).toThrow(new RegExp(`^${flag} mars-1: not a region of regions/`));
  });
});

describe('npm run drill', () => {
  // Run where regions/ is a copy of the eight-region fixture, not the shipped regions/ (a fork's
  // own regions keep this test green).
  const eight = path.dirname(copyRegions(EIGHT_REGIONS));
  afterAll(() => fs.rmSync(eight, { recursive: true, force: true }));

  test('us-east-1 fails: the synthesized runbook in us-west-2 fails over, prints timeline and timings', () => {
    const run = cli('bin/drill.ts', ['--fail', 'us-east-1'], eight);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('runbook meridian-prod-us-west-2-failover');
    expect(run.stdout).toMatch(/\d+ ms {2}Promote Aurora/);
    expect(run.stdout).toContain('rds:FailoverGlobalCluster AllowDataLoss=true → us-west-2');
    expect(run.stdout).toContain('Outcome: failed over');
    // us-east-1's Route 53 control plane is down with it: the records are left to the health
    // checks, which take traffic away within 60 s; writes move once Aurora has promoted.
    expect(run.stdout).not.toContain('route53:UPSERT');
    expect(Number(/Traffic off us-east-1: ([\d.]+) s/.exec(run.stdout)?.[1])).toBeLessThanOrEqual(
      60,
    );
    expect(Number(/Page: ([\d.]+) s/.exec(run.stdout)?.[1])).toBeLessThanOrEqual(45);
    const writes = Number(
      /Writes accepted in us-west-2: ([\d.]+) s after the runbook/.exec(run.stdout)?.[1],
    );
    expect(writes).toBeGreaterThanOrEqual(60);
    expect(writes).toBeLessThanOrEqual(150 - 45);
  });
});
