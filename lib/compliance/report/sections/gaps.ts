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
import type { Transfer } from './transfers';

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
  | { readonly kind: 'transfer-without-basis'; readonly from: string; readonly to: string }
  | { readonly kind: 'no-residency-plan' };

export type GapKind = Finding['kind'];

export const GAP_KINDS: readonly GapKind[] = [
  'single-region-jurisdiction',
  'transfer-without-basis',
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

/**
 * What each kind of gap means, and the NIST SP 800-53 rev 5 controls it bears on (for the SARIF
 * rules and the OSCAL findings, ../sarif.ts and ../oscal.ts).
 */
export const GAP_RULES: Readonly<
  Record<GapKind, { readonly about: string; readonly nist: readonly string[] }>
> = {
  'single-region-jurisdiction': {
    about: 'A jurisdiction with one region has no cross-region recovery inside it.',
    nist: ['CP-6', 'CP-7', 'CP-9'],
  },
  'transfer-without-basis': {
    about: 'Personal data crosses a border with no legal basis recorded.',
    nist: ['PT-2', 'PT-3'],
  },
  'not-encrypted': { about: 'A store is not encrypted at rest.', nist: ['SC-28'] },
  'key-not-rotated': { about: "A store's customer key does not rotate.", nist: ['SC-12'] },
  'tls-not-enforced': { about: 'A store accepts plain-text connections.', nist: ['SC-8'] },
  'node-to-node-not-encrypted': {
    about: "A search domain's node-to-node traffic is not encrypted.",
    nist: ['SC-8'],
  },
  'not-customer-key': {
    about: "A store is encrypted with a key AWS holds, not the region's customer key.",
    nist: ['SC-12', 'SC-28'],
  },
  'secret-not-rotated': { about: 'A secret is never rotated.', nist: ['IA-5'] },
  'deletion-protection-off': {
    about: 'A database can be deleted with its stack.',
    nist: ['CP-9'],
  },
  'versioning-off': {
    about: 'A bucket keeps no earlier versions of its objects.',
    nist: ['CP-9'],
  },
  'point-in-time-recovery-off': {
    about: 'A table has no point-in-time recovery.',
    nist: ['CP-9'],
  },
  'backups-stay-in-region': {
    about: "Backups stay in the region that holds the jurisdiction's only copy.",
    nist: ['CP-6', 'CP-9'],
  },
  'no-residency-plan': {
    about: 'The assembly carries no residency plan, so residency cannot be shown.',
    nist: ['CM-2'],
  },
};

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
  readonly transfers: readonly Transfer[];
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
  for (const t of r.transfers)
    if (!t.basis) add({ kind: 'transfer-without-basis', from: t.from, to: t.to }, []);
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
    case 'transfer-without-basis':
      return `Data crosses from ${f.from} to ${f.to} with NO transfer basis in the plan`;
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
