import * as fs from 'node:fs';
import * as path from 'node:path';
import { edit, MINIMAL, write } from '../support/fixture';
import { ok, PROJECT_ROOT, ProjectFork } from '../support/readme-commands';

/**
 * A fork that grows (issue 26): a copy of the project whose regions/ (the minimal fixture: us-east-1
 * in us; eu-west-1 and eu-central-1 in eu) gains a region in an existing jurisdiction (eu-west-3)
 * and a new jurisdiction (ap, with ap-southeast-2): one region file each, and the jurisdiction's
 * entry in global.yaml, as the README's "Add a region" says. Then, there, what the README says to
 * run: `npm run synth` (which regenerates the report), and the parts of `npm test` that read your
 * own regions/: the example suite and the synth check of every environment.
 */
const fork = new ProjectFork(MINIMAL);
for (const p of ['test/example', 'test/support', 'test/setup.ts', 'jest.config.js'])
  fs.cpSync(path.join(PROJECT_ROOT, p), path.join(fork.dir, p), { recursive: true });
afterAll(() => fork.remove());

const regions = path.join(fork.dir, 'regions');
write(
  regions,
  'eu-west-3.yaml',
  [
    'id: eu-west-3',
    'jurisdiction: eu',
    'tier: tertiary',
    'failoverPriority: 3',
    'capacity: 30',
    'cidr: 10.22.0.0/16',
    'cloudflare:',
    '  regions: []',
    '  latitude: 48.9',
    '  longitude: 2.4',
    '',
  ].join('\n'),
);
write(
  regions,
  'ap-southeast-2.yaml',
  [
    'id: ap-southeast-2',
    'jurisdiction: ap',
    'tier: primary',
    'failoverPriority: 1',
    'capacity: 40',
    'cidr: 10.40.0.0/16',
    'cloudflare:',
    '  regions: [OC]',
    '  latitude: -33.9',
    '  longitude: 151.2',
    '',
  ].join('\n'),
);
edit(
  regions,
  'global.yaml',
  'jurisdictions:\n',
  'jurisdictions:\n  ap:\n    name: APAC\n    countries: [AU]\n',
);

test('npm run synth: a stack for each new region, and the report regenerated with them', () => {
  const run = ok(fork.run('npm run synth'));
  for (const r of ['eu-west-3', 'ap-southeast-2'])
    expect(run.stdout).toContain(`Meridian-prod-${r}`);
  const report = fs.readFileSync(path.join(fork.dir, 'reports', 'compliance.md'), 'utf8');
  expect(report).toContain('ap-southeast-2');
  expect(report).toContain('eu-west-3');
});

test('the example suite passes on the grown regions/', () => {
  const run = ok(fork.run('npm run jest -- test/example'));
  expect(run.stderr).toMatch(/Tests: +\d+ passed, \d+ total/);
  expect(run.stderr).not.toMatch(/failed|skipped/);
});

test('the synth check of every environment passes', () => {
  ok(fork.run('npm run synth'));
  ok(fork.run('npm run test:synth'));
});
