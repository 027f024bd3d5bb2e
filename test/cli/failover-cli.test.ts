import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const tsx = (script: string, ...args: string[]) =>
  spawnSync('node', ['node_modules/.bin/tsx', script, ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });

describe('npm run failover', () => {
  test('prints the execution input and the start-execution line for the region it activates', () => {
    const run = tsx(
      'bin/failover.ts',
      '--from',
      'eu-west-1',
      '--mode',
      'switchover',
      '--reason',
      'patching',
    );
    expect(run.status).toBe(0);
    expect(run.stdout).toContain(
      '# Failover of eu-west-1 (cell eu), mode switchover, run from eu-central-1',
    );
    expect(run.stdout).toMatch(
      /^aws stepfunctions start-execution --region eu-central-1 --state-machine-arn arn:aws:states:eu-central-1:111111111111:stateMachine:meridian-prod-eu-central-1-failover --name failover-eu-west-1-\d{8}T\d{6} --input '\{"cell":"eu","failedRegion":"eu-west-1","mode":"switchover","reason":"patching"\}'$/m,
    );
  });

  test('--failback prints the failback input and its start-execution line', () => {
    const run = tsx('bin/failover.ts', '--failback', 'eu-west-1');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /^aws stepfunctions start-execution --region eu-central-1 --state-machine-arn arn:aws:states:eu-central-1:111111111111:stateMachine:meridian-prod-eu-central-1-failback --name failback-eu-west-1-\d{8}T\d{6} --input '\{"cell":"eu","originalRegion":"eu-west-1","currentRegion":"eu-central-1"\}'$/m,
    );
  });

  test('a region alone in its jurisdiction: run from itself, warned that it ends in manual intervention', () => {
    const run = tsx('bin/failover.ts', '--from', 'me-central-1');
    expect(run.stdout).toContain('the runbook will end in manual intervention');
  });

  test.each([
    [['--from', 'mars-1'], /^--from mars-1: not a region of regions\//],
    [
      ['--from', 'eu-west-1', '--mode', 'yolo'],
      /^--mode yolo: expected one of auto, switchover, failover/,
    ],
    [[], /^--from <region> is required/],
  ])('%j is refused with one line and exit 1', (args, message) => {
    const run = tsx('bin/failover.ts', ...args);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});

describe('npm run drill', () => {
  test('us-east-1 fails: the synthesized runbook in us-west-2 fails over, prints timeline and RTO', () => {
    const run = tsx('bin/drill.ts', '--fail', 'us-east-1');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('runbook meridian-prod-us-west-2-failover');
    expect(run.stdout).toMatch(/\d+ ms {2}Promote Aurora/);
    expect(run.stdout).toContain('rds:FailoverGlobalCluster AllowDataLoss=true → us-west-2');
    expect(run.stdout).toContain('Outcome: failed over');
    const rto = Number(/Modelled RTO: ([\d.]+) s/.exec(run.stdout)?.[1]);
    expect(rto).toBeLessThanOrEqual(60);
  });
});
