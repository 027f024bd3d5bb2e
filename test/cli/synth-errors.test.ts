import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');

/** `npm run synth` on a bad config: the problem lines, a non-zero exit, no stack trace. */
test('a bad config fails synth with one line per problem and no stack trace', () => {
  const run = spawnSync('node', ['scripts/synth.mjs'], {
    cwd: root,
    encoding: 'utf8',
    env: {
      ...process.env,
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

/** The edge refuses a Cloudflare fallback that would take residency-bound traffic abroad. */
test('a residency-breaking Cloudflare fallback fails the edge synth with the config line', () => {
  const run = spawnSync(
    'node',
    ['node_modules/.bin/tsx', 'bin/edge.ts', '--out', '.build/edge-error'],
    {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, MERIDIAN__GLOBAL__CLOUDFLARE__FALLBACK: 'us-east-1' },
    },
  );
  const output = run.stdout + run.stderr;
  expect(run.status).toBe(1);
  expect(output).toContain(
    'env MERIDIAN__GLOBAL__CLOUDFLARE__FALLBACK global.cloudflare.fallback: got "us-east-1"; expected holding: us-east-1 (us) would receive traffic of residency-bound countries of eu, in, ae whenever their own pools are down',
  );
  expect(output).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
});
