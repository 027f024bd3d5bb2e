/**
 * The report's findings as SARIF 2.1.0, for GitHub code scanning and any SARIF viewer: every
 * finding a rule pack or the Control Tower guard raised and the code acknowledged (a result
 * with an accepted in-source suppression carrying its reason), and every gap (an open warning).
 * Residency-guard and unacknowledged pack findings fail `npm run synth`, so an assembly that
 * reached the report has none. Each result points at its row of the Markdown report, the file a
 * reviewer reads; the construct paths are its logical locations. Same model, same bytes.
 */
import type { ComplianceReport } from './model';
import { mdCell, renderMarkdown } from './render';
import { type AcknowledgementGroup, acknowledgementText } from './sections/acknowledgements';
import { GAP_RULES, type Gap, gapText } from './sections/gaps';

const SCHEMA = 'https://json.schemastore.org/sarif-2.1.0.json';

/** Where a pack's rules are documented (Meridian's own are in lib/compliance/meridian-checks.ts). */
const NAG_RULES = 'https://github.com/cdklabs/cdk-nag/blob/main/RULES.md';
const HELP: Readonly<Record<string, string>> = {
  AwsSolutions: NAG_RULES,
  'HIPAA.Security': NAG_RULES,
  'NIST.800.53.R5': NAG_RULES,
  'PCI.DSS.321': NAG_RULES,
  'cdk-validator-cfnguard':
    'https://github.com/cdklabs/cdk-validator-cfnguard#bundled-control-tower-rules',
};

interface SarifRule {
  readonly id: string;
  readonly name: string;
  readonly shortDescription: { readonly text: string };
  readonly helpUri?: string;
  readonly properties: { readonly tags: readonly string[] };
}

interface SarifResult {
  readonly ruleId: string;
  readonly ruleIndex: number;
  readonly level: 'error' | 'warning';
  readonly message: { readonly text: string };
  readonly locations: readonly unknown[];
  readonly suppressions?: readonly unknown[];
  readonly properties: { readonly regions: readonly string[] };
}

export interface SarifLog {
  readonly $schema: string;
  readonly version: '2.1.0';
  readonly runs: readonly unknown[];
}

const ackRuleId = (a: AcknowledgementGroup) => `${a.pack}/${a.rule}`;
const gapRuleId = (g: Gap) => `meridian-gap/${g.finding.kind}`;

/** The 1-based line of the first Markdown line that starts with `prefix`. */
function lineOf(lines: readonly string[], prefix: string): number {
  const i = lines.findIndex((l) => l.startsWith(prefix));
  return i >= 0 ? i + 1 : 1;
}

/**
 * The SARIF log of a report. `reportFile` is the Markdown report's path from the repository root
 * (`reports/compliance.md`): results point at the lines of `markdown`, that report's text (pass
 * the one already rendered).
 */
export function toSarif(
  r: ComplianceReport,
  reportFile: string,
  markdown: string = renderMarkdown(r),
): SarifLog {
  const lines = markdown.split('\n');
  const n = r.regions.length;
  const rules = new Map<string, SarifRule>();
  for (const a of r.acknowledgements)
    if (!rules.has(ackRuleId(a)))
      rules.set(ackRuleId(a), {
        id: ackRuleId(a),
        name: a.rule,
        shortDescription: { text: a.ruleInfo?.description || `${a.pack} rule ${a.rule}` },
        ...(HELP[a.pack] ? { helpUri: HELP[a.pack] } : {}),
        properties: {
          tags: [
            ...new Set([a.pack, ...(a.ruleInfo?.controls ?? []).map((c) => `${a.pack}/${c}`)]),
          ],
        },
      });
  for (const g of r.gaps)
    if (!rules.has(gapRuleId(g)))
      rules.set(gapRuleId(g), {
        id: gapRuleId(g),
        name: g.finding.kind,
        shortDescription: { text: GAP_RULES[g.finding.kind].about },
        properties: {
          tags: [
            'meridian-gap',
            ...GAP_RULES[g.finding.kind].nist.map((c) => `NIST.800.53.R5/${c}`),
          ],
        },
      });
  const ordered = [...rules.values()].sort((a, b) => a.id.localeCompare(b.id));
  const index = new Map(ordered.map((x, i) => [x.id, i]));
  const at = (line: number, logical: readonly string[] = []) => ({
    physicalLocation: { artifactLocation: { uri: reportFile }, region: { startLine: line } },
    ...(logical.length
      ? {
          logicalLocations: logical.map((fullyQualifiedName) => ({
            fullyQualifiedName,
            kind: 'resource',
          })),
        }
      : {}),
  });
  const results: SarifResult[] = [
    ...r.acknowledgements.map(
      (a): SarifResult => ({
        ruleId: ackRuleId(a),
        ruleIndex: index.get(ackRuleId(a)) ?? 0,
        level: 'error',
        message: {
          text: acknowledgementText(a, n),
        },
        locations: [at(lineOf(lines, `| ${a.pack} | ${a.rule} | ${mdCell(a.reason)} |`), a.where)],
        suppressions: [{ kind: 'inSource', status: 'accepted', justification: a.reason }],
        properties: { regions: a.regions },
      }),
    ),
    ...r.gaps.map(
      (g): SarifResult => ({
        ruleId: gapRuleId(g),
        ruleIndex: index.get(gapRuleId(g)) ?? 0,
        level: 'warning',
        message: { text: gapText(g, n) },
        locations: [at(lineOf(lines, `- ${gapText(g, n)}`))],
        properties: { regions: g.regions },
      }),
    ),
  ];
  return {
    $schema: SCHEMA,
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'Meridian compliance report',
            rules: ordered,
          },
        },
        automationDetails: { id: `meridian/${r.env ?? 'untagged'}/` },
        columnKind: 'unicodeCodePoints',
        results,
      },
    ],
  };
}
