import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

/** The GitHub Actions workflow users get: it runs what the README promises. */
const root = path.join(__dirname, '..', '..');
const workflow = parse(
  fs.readFileSync(path.join(root, '.github', 'workflows', 'meridian.yml'), 'utf8'),
) as {
  jobs: Record<
    string,
    {
      if?: string;
      needs?: string[];
      strategy?: { 'fail-fast'?: boolean };
      permissions?: Record<string, string>;
      steps: { run?: string; uses?: string; with?: Record<string, string> }[];
    }
  >;
};
const runs = (job: string) => (workflow.jobs[job]?.steps ?? []).map((s) => s.run ?? '').join('\n');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

test('the check job runs the README test line, the synth line and the report diff', () => {
  const testLine = /^npm install && npm test\b/m.exec(readme)?.[0];
  expect(testLine).toBeDefined();
  expect(runs('check')).toContain(testLine);
  expect(runs('check')).toContain('npm run synth');
  expect(runs('check')).toMatch(/git diff --exit-code -- reports\/compliance\.md/);
});

test('the check job uploads the findings to code scanning, with the permission it needs', () => {
  const upload = workflow.jobs.check?.steps.find((s) =>
    s.uses?.startsWith('github/codeql-action/upload-sarif@'),
  );
  expect(upload?.with?.sarif_file).toBe('reports/compliance.sarif');
  expect(workflow.jobs.check?.permissions?.['security-events']).toBe('write');
  expect(fs.existsSync(path.join(root, 'reports', 'compliance.sarif'))).toBe(true);
});

test('cdk diff runs per region, without fail-fast, only when an AWS role is configured', () => {
  const diff = workflow.jobs.diff;
  expect(diff?.strategy?.['fail-fast']).toBe(false);
  expect(diff?.if).toContain('vars.AWS_ROLE_ARN');
  expect(workflow.jobs.regions?.if).toContain('vars.AWS_ROLE_ARN');
  expect(runs('diff')).toMatch(/npx cdk diff "Meridian-.*-\$\{\{ matrix\.region \}\}"/);
  expect(workflow.jobs.check?.if).toBeUndefined();
});
