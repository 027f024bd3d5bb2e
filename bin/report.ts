#!/usr/bin/env node
/**
 * npm run report [-- --cdk-out DIR --cdktf-out DIR --out DIR]
 * Writes the report of the environment `cdk.out` holds (the stacks' `meridian:env` tag):
 * reports/compliance.md and .html for prod, reports/compliance-<env>.* for an overlay, and no
 * other file. Offline, deterministic; exit 1 with one line when there is nothing to read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readAssembly, reportName } from '../lib/compliance/report/assembly';
import { buildReport } from '../lib/compliance/report/model';
import { toOscal } from '../lib/compliance/report/oscal';
import { renderHtml, renderMarkdown } from '../lib/compliance/report/render';
import { toSarif } from '../lib/compliance/report/sarif';

const args = process.argv.slice(2);
if (args.includes('--help')) {
  process.stdout.write(`Usage: npm run report [-- --cdk-out <dir>] [--cdktf-out <dir>] [--out <dir>] [--name <name>]
  --cdk-out <dir>    CloudFormation assembly to read (default cdk.out)
  --cdktf-out <dir>  Cloudflare Terraform JSON to read (default cdktf.out)
  --out <dir>        where the report goes (default reports): compliance.md, .html, .sarif
                     and .oscal.json for prod, compliance-<env>.* for the environment
                     cdk.out holds
  --help             this text
`);
  process.exit(0);
}
const opt = (name: string, fallback: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? (args[i + 1] as string) : fallback;
};
const root = path.resolve(__dirname, '..');
const cdkOut = path.resolve(opt('--cdk-out', path.join(root, 'cdk.out')));
const cdktfOut = path.resolve(opt('--cdktf-out', path.join(root, 'cdktf.out')));
const out = path.resolve(opt('--out', path.join(root, 'reports')));

try {
  const assembly = readAssembly(cdkOut, cdktfOut);
  const report = buildReport(assembly);
  const name = reportName(assembly.env);
  fs.mkdirSync(out, { recursive: true });
  const markdown = renderMarkdown(report);
  fs.writeFileSync(path.join(out, `${name}.md`), markdown);
  fs.writeFileSync(path.join(out, `${name}.html`), renderHtml(report));
  // The findings, machine-readable: SARIF for code scanning (its results point at the Markdown
  // report's lines, at reports/<name>.md where the repository keeps it, wherever --out wrote this
  // copy) and OSCAL for assessors.
  const markdownFile = `reports/${name}.md`;
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  fs.writeFileSync(path.join(out, `${name}.sarif`), json(toSarif(report, markdownFile, markdown)));
  fs.writeFileSync(path.join(out, `${name}.oscal.json`), json(toOscal(report, name)));
  const rel = (f: string) => path.relative(process.cwd(), path.join(out, f));
  console.log(
    `compliance report${assembly.env ? ` (${assembly.env})` : ''}: ${rel(`${name}.md`)}, ${rel(`${name}.html`)}, ${rel(`${name}.sarif`)}, ${rel(`${name}.oscal.json`)} — ${report.regions.length} regions, ${report.edges.length} replication edges, ${report.acknowledgements.length} acknowledged rule/reason pairs, ${report.gaps.length} gaps`,
  );
} catch (err) {
  console.error(`report: ${(err as Error).message}`);
  process.exit(1);
}
