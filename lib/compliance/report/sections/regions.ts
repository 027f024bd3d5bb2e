/** Regions, jurisdictions and frameworks: the `meridian:*` tags of each stack. */
import type { CfnResource, StackArtifact } from '../assembly';
import type { Section } from '../section';
import { resourcesOf, tag } from '../template';

export interface RegionInfo {
  readonly region: string;
  readonly jurisdiction: string;
  readonly tier: string;
  /** The `meridian:compliance` tag's frameworks; empty when no resource carries it. */
  readonly frameworks: readonly string[];
  readonly stack: string;
}

export function regionOf(s: StackArtifact): RegionInfo {
  const tagged: CfnResource | undefined = Object.values(resourcesOf(s.template)).find((r) =>
    tag(r, 'meridian:jurisdiction'),
  );
  const frameworks = (tagged && tag(tagged, 'meridian:compliance')) ?? '';
  return {
    region: s.region,
    jurisdiction: (tagged && tag(tagged, 'meridian:jurisdiction')) ?? 'unknown',
    tier: (tagged && tag(tagged, 'meridian:tier')) ?? 'unknown',
    frameworks: frameworks.split(/\s+/).filter(Boolean),
    stack: s.id,
  };
}

export function regionsSection(regions: readonly RegionInfo[]): Section {
  return {
    id: 'regions',
    title: 'Regions, jurisdictions and frameworks',
    intro:
      'One CloudFormation stack per region. Jurisdiction, tier and frameworks are the `meridian:*` tags the templates put on every resource.',
    table: {
      columns: ['Region', 'Jurisdiction', 'Tier', 'Frameworks', 'Stack'],
      rows: regions.map((x) => [
        x.region,
        x.jurisdiction,
        x.tier,
        x.frameworks.length ? x.frameworks.join(' ') : 'none tagged',
        x.stack,
      ]),
    },
  };
}
