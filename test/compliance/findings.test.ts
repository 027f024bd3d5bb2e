/**
 * The machine-readable findings (issue 18 part 7) from the same report model as the Markdown:
 * SARIF 2.1.0 validated against its schema (the OASIS schema @microsoft/jest-sarif ships), and
 * OSCAL assessment-results held to the NIST model's required structure (./oscal-model.ts). Both
 * are byte-stable, point at the report's own lines and sections, and carry every acknowledgement
 * and every gap.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import '@microsoft/jest-sarif';
import { App } from 'aws-cdk-lib';
import { buildMeridian, cdkContext } from '../../lib/app';
import { readAssembly } from '../../lib/compliance/report/assembly';
import { buildReport, type ComplianceReport } from '../../lib/compliance/report/model';
import { nistControlId, toOscal, uuidV5 } from '../../lib/compliance/report/oscal';
import { renderMarkdown } from '../../lib/compliance/report/render';
import { toSarif } from '../../lib/compliance/report/sarif';
import { copyRegions, load } from '../support/fixture';
import { assessmentResults } from './oscal-model';

jest.setTimeout(240_000);

let report: ComplianceReport;
let md: string[];
beforeAll(() => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meridian-findings-'));
  const app = new App({ outdir: dir, context: cdkContext() });
  buildMeridian(app, load(copyRegions()));
  app.synth();
  report = buildReport(readAssembly(dir));
  md = renderMarkdown(report).split('\n');
});

interface Result {
  ruleId: string;
  ruleIndex: number;
  level: string;
  message: { text: string };
  locations: {
    physicalLocation: { artifactLocation: { uri: string }; region: { startLine: number } };
    logicalLocations?: { fullyQualifiedName: string }[];
  }[];
  suppressions?: { kind: string; status: string; justification: string }[];
}
const runOf = (log: unknown) =>
  (log as { runs: { tool: { driver: { rules: { id: string }[] } }; results: Result[] }[] })
    .runs[0] as { tool: { driver: { rules: { id: string }[] } }; results: Result[] };

describe('SARIF', () => {
  test('is a valid SARIF 2.1.0 log, and the same bytes every time', () => {
    const log = toSarif(report, 'reports/compliance.md');
    expect(log).toBeValidSarifLog();
    expect(JSON.stringify(toSarif(report, 'reports/compliance.md'))).toBe(JSON.stringify(log));
  });

  test('every acknowledgement is a suppressed result with its reason, at its row of the report', () => {
    const run = runOf(toSarif(report, 'reports/compliance.md'));
    const acks = run.results.filter((r) => r.suppressions);
    expect(acks).toHaveLength(report.acknowledgements.length);
    for (const [i, a] of report.acknowledgements.entries()) {
      const r = acks[i] as Result;
      expect(r.ruleId).toBe(`${a.pack}/${a.rule}`);
      expect(run.tool.driver.rules[r.ruleIndex]?.id).toBe(r.ruleId);
      expect(r.suppressions).toEqual([
        { kind: 'inSource', status: 'accepted', justification: a.reason },
      ]);
      const loc = r.locations[0];
      expect(loc?.physicalLocation.artifactLocation.uri).toBe('reports/compliance.md');
      const line = md[(loc?.physicalLocation.region.startLine ?? 0) - 1] ?? '';
      expect(line.startsWith(`| ${a.pack} | ${a.rule} |`)).toBe(true);
      expect(loc?.logicalLocations?.map((l) => l.fullyQualifiedName)).toEqual(a.where);
    }
  });

  test('every gap is an open warning at its line of the Gaps list', () => {
    const run = runOf(toSarif(report, 'reports/compliance.md'));
    const open = run.results.filter((r) => !r.suppressions);
    expect(open.map((r) => r.ruleId)).toEqual(
      report.gaps.map((g) => `meridian-gap/${g.finding.kind}`),
    );
    for (const r of open) {
      expect(r.level).toBe('warning');
      const line = md[(r.locations[0]?.physicalLocation.region.startLine ?? 0) - 1];
      expect(line).toBe(`- ${r.message.text}`);
    }
    expect(open.length).toBeGreaterThan(0);
  });

  test('rules carry the framework controls their pack maps them to, once each', () => {
    const rules = (
      toSarif(report, 'reports/compliance.md').runs[0] as {
        tool: { driver: { rules: { id: string; properties: { tags: string[] } }[] } };
      }
    ).tool.driver.rules;
    for (const a of report.acknowledgements) {
      const tags = rules.find((r) => r.id === `${a.pack}/${a.rule}`)?.properties.tags ?? [];
      expect(tags).toEqual([...new Set(tags)]);
      for (const c of a.ruleInfo?.controls ?? []) expect(tags).toContain(`${a.pack}/${c}`);
    }
    expect(
      rules.filter((r) => r.properties.tags.some((t) => /^NIST\.800\.53\.R5\/[A-Z]{2}-\d/.test(t))),
    ).not.toEqual([]);
  });
});

describe('OSCAL assessment results', () => {
  test("have the NIST model's required structure, and the same bytes every time", () => {
    const doc = toOscal(report, 'compliance');
    const parsed = assessmentResults.safeParse(doc);
    expect(
      parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`),
    ).toEqual([]);
    expect(JSON.stringify(toOscal(report, 'compliance'))).toBe(JSON.stringify(doc));
  });

  test('an observation per acknowledgement and gap; a finding per reviewed control, related to them', () => {
    const doc = assessmentResults.parse(toOscal(report, 'compliance'));
    const [result] = doc['assessment-results'].results;
    const observations = result?.observations ?? [];
    expect(observations).toHaveLength(report.acknowledgements.length + report.gaps.length);
    const ids = new Set(observations.map((o) => o.uuid));
    expect(ids.size).toBe(observations.length);
    const reviewed = result?.['reviewed-controls']['control-selections'].flatMap(
      (s) => s['include-controls']?.map((c) => c['control-id']) ?? [],
    );
    expect(result?.findings?.map((f) => f.target['target-id'])).toEqual(
      reviewed?.map((c) => `${c}_smt`),
    );
    for (const f of result?.findings ?? [])
      for (const o of f['related-observations'] ?? [])
        expect(ids.has(o['observation-uuid'])).toBe(true);
    // A control a gap bears on is not satisfied.
    const gapControls = report.gaps.flatMap((g) =>
      g.finding.kind === 'secret-not-rotated' ? ['ia-5'] : [],
    );
    for (const c of gapControls)
      expect(
        result?.findings?.find((f) => f.target['target-id'] === `${c}_smt`)?.target.status.state,
      ).toBe('not-satisfied');
  });

  test('control ids and uuids follow the catalog and RFC 4122', () => {
    expect(['AC-4(21)', 'CP-9d', 'MA-4(1)(a)', 'SC-8', '164.312(e)(1)'].map(nistControlId)).toEqual(
      ['ac-4.21', 'cp-9', 'ma-4.1', 'sc-8', undefined],
    );
    // Python's uuid.uuid5(uuid.NAMESPACE_URL, 'x'), computed independently.
    expect(uuidV5('x')).toBe('4cd605e7-afa2-5360-b5b9-c5e9fb5c76f4');
  });
});
