/**
 * Config drift between regions, pure. Every region publishes a fingerprint of what was deployed
 * there (SSM parameter `/<platform>/<env>/fingerprint`); the drift check compares them. Fields that
 * must be identical everywhere (the residency plan, the routing contract) and fields that must be
 * identical inside a jurisdiction cell (failover settings) are critical; anything else differing is
 * informational.
 */
import { createHash } from 'node:crypto';

export interface Fingerprint {
  readonly region: string;
  readonly jurisdiction: string;
  /** Hash of the residency plan the region's Lambdas use. */
  readonly plan: string;
  /** Hash of the routing contract (names, health path, TTL). */
  readonly routing: string;
  /** Hash of the region's failover settings (must match across its cell). */
  readonly failover: string;
  /** Hash of all of the region's settings. */
  readonly settings: string;
  /** The Meridian version that deployed it. */
  readonly version: string;
}

export const hashOf = (value: unknown): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 16);

export interface DriftFinding {
  readonly severity: 'critical' | 'info';
  readonly field: keyof Fingerprint | 'missing';
  readonly regions: readonly string[];
  readonly detail: string;
}

/** Compares fingerprints; `missing` lists regions that published none (or could not be read). */
export function compareFingerprints(
  prints: readonly Fingerprint[],
  missing: readonly string[] = [],
): DriftFinding[] {
  const findings: DriftFinding[] = missing.map((r) => ({
    severity: 'critical',
    field: 'missing',
    regions: [r],
    detail: `${r}: no fingerprint could be read (not deployed, or the region does not answer)`,
  }));
  const differ = (
    field: keyof Fingerprint,
    group: readonly Fingerprint[],
    severity: DriftFinding['severity'],
    scope: string,
  ) => {
    const values = new Map<string, string[]>();
    for (const p of group)
      values.set(String(p[field]), [...(values.get(String(p[field])) ?? []), p.region]);
    if (values.size > 1)
      findings.push({
        severity,
        field,
        regions: group.map((p) => p.region).sort(),
        detail: `${field} differs ${scope}: ${[...values].map(([v, rs]) => `${rs.sort().join(', ')} = ${v}`).join('; ')}`,
      });
  };
  differ('plan', prints, 'critical', 'across regions');
  differ('routing', prints, 'critical', 'across regions');
  differ('version', prints, 'info', 'across regions');
  const cells = new Map<string, Fingerprint[]>();
  for (const p of prints) cells.set(p.jurisdiction, [...(cells.get(p.jurisdiction) ?? []), p]);
  for (const [j, group] of cells) {
    differ('failover', group, 'critical', `inside cell ${j}`);
    differ('settings', group, 'info', `inside cell ${j}`);
  }
  return findings;
}
