import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { copyRegions, EIGHT_REGIONS } from '../support/fixture';

const root = path.join(__dirname, '..', '..');
const bin = (name: string) => path.join(root, 'node_modules', '.bin', name);

/**
 * A throw-away project folder: the eight-region fixture as `regions/` (the apps read `regions/`
 * of their working directory) and this repository's cdk.json with the app at an absolute path, so
 * a user's edits to the shipped regions/ cannot change these tests.
 */
function project(): string {
  const cwd = path.dirname(copyRegions(EIGHT_REGIONS));
  const cdkJson = JSON.parse(fs.readFileSync(path.join(root, 'cdk.json'), 'utf8'));
  cdkJson.app = `${bin('tsx')} ${path.join(root, 'bin', 'app.ts')}`;
  fs.writeFileSync(path.join(cwd, 'cdk.json'), JSON.stringify(cdkJson));
  return cwd;
}

const baseEnv = (cwd: string) => ({
  ...process.env,
  CDK_HOME: path.join(cwd, '.cdk-home'),
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

/** `cdk synth` (what `npm run synth` runs) on a bad config: one line per problem, no stack trace. */
test('a bad config fails synth with one line per problem and no stack trace', () => {
  const cwd = project();
  const run = spawnSync(bin('cdk'), ['synth', '--quiet', '-o', path.join(cwd, 'cdk.out')], {
    cwd,
    encoding: 'utf8',
    env: {
      ...baseEnv(cwd),
      MERIDIAN__REGIONS__EU_WEST_1__CIDR: '10.11.0.0/16',
      MERIDIAN__REGIONS__US_EAST_1__TIER: 'main',
    },
  });
  const output = run.stdout + run.stderr;
  expect(run.status).not.toBe(0);
  expect(output).toContain('regions/ has 3 problems:');
  expect(output).toContain(
    'env MERIDIAN__REGIONS__US_EAST_1__TIER regions.us-east-1.tier: got "main"; expected one of primary, secondary, tertiary',
  );
  expect(output).toContain(
    'env MERIDIAN__REGIONS__EU_WEST_1__CIDR regions.eu-west-1.cidr: got "10.11.0.0/16"; expected a CIDR that does not overlap us-west-2 (10.11.0.0/16); every region needs its own range',
  );
  expect(output).toContain(
    'regions/us-west-2.yaml:7 cidr: got "10.11.0.0/16"; expected a CIDR that does not overlap eu-west-1 (10.11.0.0/16); every region needs its own range',
  );
  expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
});

/** A hostile file (an alias bomb) is one problem line through the CLI too, not the library's trace. */
test('an alias bomb fails synth with one line naming the file and no stack trace', () => {
  const cwd = project();
  fs.appendFileSync(
    path.join(cwd, 'regions', 'us-east-1.yaml'),
    fs.readFileSync(path.join(root, 'test', 'fixtures', 'hostile', 'alias-bomb.yaml')),
  );
  const run = spawnSync(bin('tsx'), [path.join(root, 'bin', 'app.ts')], {
    cwd,
    encoding: 'utf8',
    env: baseEnv(cwd),
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toBe(
    'regions/ has 1 problem:\n  regions/us-east-1.yaml: got nothing; expected at most 100 alias expansions (Excessive alias count indicates a resource exhaustion attack)\n',
  );
});

/** The edge refuses a Cloudflare fallback that would take residency-bound traffic abroad. */
test('a residency-breaking Cloudflare fallback fails the edge synth with the config line', () => {
  const cwd = project();
  const run = spawnSync(
    bin('tsx'),
    [path.join(root, 'bin', 'edge.ts'), '--out', path.join(cwd, 'edge-error')],
    {
      cwd,
      encoding: 'utf8',
      env: { ...baseEnv(cwd), MERIDIAN__GLOBAL__CLOUDFLARE__FALLBACK: 'us-east-1' },
    },
  );
  const output = run.stdout + run.stderr;
  expect(run.status).toBe(1);
  expect(output).toContain(
    'env MERIDIAN__GLOBAL__CLOUDFLARE__FALLBACK global.cloudflare.fallback: got "us-east-1"; expected holding: us-east-1 (us) would receive traffic of residency-bound countries of eu, in, ae whenever their own pools are down',
  );
  expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
});
