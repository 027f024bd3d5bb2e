/**
 * Gaps: what a reviewer should weigh, computed from the other sections' facts (never from their
 * wording, so rewording a cell cannot hide one). The same finding in several regions is one gap
 * naming the regions.
 */
import type { Section } from '../section';
import { regionList } from '../section';
import type { KeyFact } from '../template';
import type { BackupFact } from './backup';
import { keyText, STORE_LABEL, type StoreEncryption, type StoreKind } from './encryption';
import type { RegionInfo } from './regions';
import type { SecretFact } from './secrets';

/** One kind of gap and what it is about; `GAP_KINDS` orders them. */
export type Finding =
  | { readonly kind: 'single-region-jurisdiction'; readonly jurisdiction: string }
  | { readonly kind: 'not-encrypted'; readonly store: StoreKind; readonly resource: string }
  | {
      readonly kind: 'key-not-rotated';
      readonly store: StoreKind;
      readonly resource: string;
      readonly key: KeyFact;
    }
  | { readonly kind: 'tls-not-enforced'; readonly store: StoreKind; readonly resource: string }
  | {
      readonly kind: 'node-to-node-not-encrypted';
      readonly store: StoreKind;
      readonly resource: string;
    }
  | {
      readonly kind: 'not-customer-key';
      readonly store: StoreKind;
      readonly resource: string;
      readonly key: KeyFact;
    }
  | { readonly kind: 'secret-not-rotated'; readonly secret: string }
  | { readonly kind: 'deletion-protection-off'; readonly resource: string }
  | { readonly kind: 'versioning-off'; readonly bucket: string }
  | { readonly kind: 'point-in-time-recovery-off'; readonly resource: string }
  | { readonly kind: 'backups-stay-in-region'; readonly rule: string }
  | { readonly kind: 'no-residency-plan' };

export type GapKind = Finding['kind'];

export const GAP_KINDS: readonly GapKind[] = [
  'single-region-jurisdiction',
  'not-encrypted',
  'key-not-rotated',
  'tls-not-enforced',
  'node-to-node-not-encrypted',
  'not-customer-key',
  'secret-not-rotated',
  'deletion-protection-off',
  'versioning-off',
  'point-in-time-recovery-off',
  'backups-stay-in-region',
  'no-residency-plan',
];

export interface Gap {
  readonly finding: Finding;
  /** Where it holds, sorted; empty for a finding about the whole assembly. */
  readonly regions: readonly string[];
}

export interface GapInput {
  readonly regions: readonly RegionInfo[];
  readonly encryption: readonly StoreEncryption[];
  readonly secrets: readonly SecretFact[];
  readonly backups: readonly BackupFact[];
  /** Whether the assembly carries the residency plan. */
  readonly hasPlan: boolean;
}

function storeFindings(e: StoreEncryption): Finding[] {
  const on = { store: e.store, resource: e.resource };
  const out: Finding[] = [];
  if (!e.atRest) out.push({ kind: 'not-encrypted', ...on });
  else if (e.atRest.rotation.by === 'customer' && !e.atRest.rotation.rotates)
    out.push({ kind: 'key-not-rotated', ...on, key: e.atRest });
  else if (['aws-owned', 'aws-managed', 'sse-s3'].includes(e.atRest.kind))
    out.push({ kind: 'not-customer-key', ...on, key: e.atRest });
  if (e.inTransit.tls === 'not-enforced') out.push({ kind: 'tls-not-enforced', ...on });
  if (e.inTransit.nodeToNode === false) out.push({ kind: 'node-to-node-not-encrypted', ...on });
  return out;
}

function backupFindings(b: BackupFact, alone: boolean): Finding[] {
  switch (b.store) {
    case 'aurora':
      return b.deletionProtection
        ? []
        : [{ kind: 'deletion-protection-off', resource: b.resource }];
    case 'bucket':
      return b.versioning ? [] : [{ kind: 'versioning-off', bucket: b.bucket }];
    case 'dynamodb':
      return b.pointInTimeRecovery
        ? []
        : [{ kind: 'point-in-time-recovery-off', resource: b.resource }];
    case 'backup-rule':
      // A copy in the same jurisdiction's other region is the DR copy; alone, there is none.
      return alone && b.copies === 0 ? [{ kind: 'backups-stay-in-region', rule: b.rule }] : [];
    default:
      return [];
  }
}

export function gapsOf(r: GapInput): Gap[] {
  const grouped = new Map<string, { finding: Finding; regions: Set<string> }>();
  const add = (finding: Finding, regions: readonly string[]) => {
    const key = JSON.stringify(finding);
    const g = grouped.get(key) ?? { finding, regions: new Set<string>() };
    for (const x of regions) g.regions.add(x);
    grouped.set(key, g);
  };
  const byJ = new Map<string, string[]>();
  for (const x of r.regions)
    byJ.set(x.jurisdiction, [...(byJ.get(x.jurisdiction) ?? []), x.region]);
  const alone = new Set<string>();
  for (const [jurisdiction, rs] of byJ)
    if (rs.length < 2) {
      for (const x of rs) alone.add(x);
      add({ kind: 'single-region-jurisdiction', jurisdiction }, rs);
    }
  for (const e of r.encryption) for (const f of storeFindings(e)) add(f, [e.region]);
  for (const s of r.secrets)
    if (!s.rotation) add({ kind: 'secret-not-rotated', secret: s.secret }, [s.region]);
  for (const b of r.backups)
    for (const f of backupFindings(b, alone.has(b.region))) add(f, [b.region]);
  if (!r.hasPlan) add({ kind: 'no-residency-plan' }, []);
  return [...grouped.entries()]
    .sort(
      ([ka, a], [kb, b]) =>
        GAP_KINDS.indexOf(a.finding.kind) - GAP_KINDS.indexOf(b.finding.kind) ||
        ka.localeCompare(kb),
    )
    .map(([, g]) => ({ finding: g.finding, regions: [...g.regions].sort() }));
}

// Wording.

export function findingText(f: Finding): string {
  const store = (x: { store: StoreKind; resource: string }) =>
    `${STORE_LABEL[x.store]} ${x.resource}`;
  switch (f.kind) {
    case 'single-region-jurisdiction':
      return `Jurisdiction ${f.jurisdiction} has one region: no cross-region DR inside it; recovery is from backups in the same region`;
    case 'not-encrypted':
      return `${store(f)} is NOT ENCRYPTED at rest`;
    case 'key-not-rotated':
      return `${store(f)}: its key (${keyText(f.key)}) is NOT ROTATED`;
    case 'tls-not-enforced':
      return `${store(f)}: TLS NOT ENFORCED in transit`;
    case 'node-to-node-not-encrypted':
      return `${store(f)}: node-to-node traffic NOT ENCRYPTED`;
    case 'not-customer-key':
      return `${store(f)} is encrypted with ${keyText(f.key)}, not the region's customer key`;
    case 'secret-not-rotated':
      return `Secret ${f.secret} is not rotated`;
    case 'deletion-protection-off':
      return `Aurora ${f.resource}: deletion protection OFF`;
    case 'versioning-off':
      return `S3 ${f.bucket}: versioning OFF, an overwritten or deleted object cannot be recovered`;
    case 'point-in-time-recovery-off':
      return `DynamoDB ${f.resource}: point-in-time recovery OFF`;
    case 'backups-stay-in-region':
      return `AWS Backup rule ${f.rule}: backups stay in the region, the only copy of its jurisdiction's data`;
    case 'no-residency-plan':
      return 'No residency plan found in the assembly (plan layer asset missing): the matrix is empty';
  }
}

export function gapText(g: Gap, regionCount: number): string {
  return `${findingText(g.finding)}${g.regions.length ? ` (${regionList(g.regions, regionCount)})` : ''}.`;
}

export function gapsSection(gaps: readonly Gap[], regionCount: number): Section {
  return {
    id: 'gaps',
    title: 'Gaps',
    intro:
      'What a reviewer should weigh: found in the templates, not hidden by an acknowledgement.',
    list: gaps.length ? gaps.map((g) => gapText(g, regionCount)) : ['None found.'],
  };
}
