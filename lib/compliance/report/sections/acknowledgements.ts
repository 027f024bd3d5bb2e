/** Acknowledged findings: every rule a pack raised that the code acknowledged, with its reason. */
import type { RuleInfo, StackArtifact } from '../assembly';
import { regionList, type Section } from '../section';

export interface AcknowledgementGroup {
  readonly pack: string;
  readonly rule: string;
  readonly reason: string;
  /** What the rule checks, and the framework controls its pack maps it to. */
  readonly ruleInfo?: RuleInfo;
  /** Construct paths without the stack name, and the regions where they occur. */
  readonly where: readonly string[];
  readonly regions: readonly string[];
}

export function acknowledgementsOf(
  stacks: readonly StackArtifact[],
  rules: ReadonlyMap<string, RuleInfo> = new Map(),
): AcknowledgementGroup[] {
  const groups = new Map<
    string,
    { pack: string; rule: string; reason: string; where: Set<string>; regions: Set<string> }
  >();
  for (const s of stacks)
    for (const a of s.acknowledged) {
      const [pack = '', ruleId = ''] = a.id.split('::');
      const rule = ruleId.replace(/\[.*$/, '');
      const key = `${pack}\u0000${rule}\u0000${a.reason}`;
      const g = groups.get(key) ?? {
        pack,
        rule,
        reason: a.reason,
        where: new Set(),
        regions: new Set(),
      };
      const detail = /\[(.*)\]$/.exec(ruleId)?.[1];
      g.where.add(`${a.constructPath.replace(/^[^/]+\//, '')}${detail ? ` [${detail}]` : ''}`);
      g.regions.add(s.region);
      groups.set(key, g);
    }
  return [...groups.values()]
    .map((g) => {
      const info = rules.get(`${g.pack}::${g.rule}`);
      return {
        pack: g.pack,
        rule: g.rule,
        reason: g.reason,
        ...(info ? { ruleInfo: info } : {}),
        where: [...g.where].sort(),
        regions: [...g.regions].sort(),
      };
    })
    .sort(
      (a, b) =>
        a.pack.localeCompare(b.pack) ||
        a.rule.localeCompare(b.rule) ||
        a.reason.localeCompare(b.reason),
    );
}

// Wording.

/** One acknowledged group as a sentence: what the rule checks, where it was acknowledged, why. */
export function acknowledgementText(a: AcknowledgementGroup, regionCount: number): string {
  return `${a.ruleInfo?.description || a.rule} Acknowledged on ${a.where.length} construct(s) in ${regionList(a.regions, regionCount)}: ${a.reason}`;
}

export function acknowledgementsSection(
  groups: readonly AcknowledgementGroup[],
  regionCount: number,
): Section {
  return {
    id: 'acknowledgements',
    title: 'Acknowledged findings (cdk-nag and Control Tower guard)',
    intro:
      'Every finding a rule pack raised and the code acknowledged, with its reason, grouped by rule and reason. Unacknowledged findings fail `npm run synth`, so none can be missing here.',
    table: {
      columns: ['Pack', 'Rule', 'Reason', 'Where', 'Regions'],
      rows: groups.map((a) => [
        a.pack,
        a.rule,
        a.reason,
        a.where.length > 6
          ? `${a.where.slice(0, 6).join('; ')}; … (${a.where.length} in all)`
          : a.where.join('; '),
        a.regions.length === regionCount ? 'all' : a.regions.join(', '),
      ]),
    },
  };
}
