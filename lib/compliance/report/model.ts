/**
 * The compliance report as typed facts, computed from the synthesized templates only (see
 * ./assembly.ts): one section per file in ./sections, each with its facts and its wording; the
 * gaps are computed from the facts. Every list is sorted, so the same templates always give the
 * same report.
 */
import type { Assembly, EdgePool } from './assembly';
import { type AcknowledgementGroup, acknowledgementsOf } from './sections/acknowledgements';
import { type AuditLock, type BackupFact, backupsOf } from './sections/backup';
import { type Edge, edgesOf, orderEdges } from './sections/edges';
import { encryptionOf, type StoreEncryption } from './sections/encryption';
import { type FailoverLine, failoverOf } from './sections/failover';
import { type Gap, gapsOf } from './sections/gaps';
import { type RegionInfo, regionOf } from './sections/regions';
import { type ResidencyRow, residencyOf } from './sections/residency';
import { type SecretFact, secretsOf } from './sections/secrets';
import { type Transfer, transfersOf } from './sections/transfers';

export type { Edge, EdgeKind } from './sections/edges';
export type { FailoverLine } from './sections/failover';
export type { Finding, Gap } from './sections/gaps';
export type { RegionInfo } from './sections/regions';

export interface ComplianceReport {
  /** The environment the templates were synthesized for (`meridian:env`). */
  readonly env?: string;
  readonly regions: readonly RegionInfo[];
  readonly encryption: readonly StoreEncryption[];
  readonly residency: readonly ResidencyRow[];
  readonly transfers: readonly Transfer[];
  readonly planAsset?: string;
  readonly edges: readonly Edge[];
  readonly backups: readonly BackupFact[];
  readonly auditLock: readonly AuditLock[];
  readonly secrets: readonly SecretFact[];
  readonly failover: readonly FailoverLine[];
  readonly acknowledgements: readonly AcknowledgementGroup[];
  readonly pools: readonly EdgePool[];
  readonly gaps: readonly Gap[];
}

/** The whole report from an assembly. */
export function buildReport(a: Assembly): ComplianceReport {
  const stacks = [...a.stacks].sort((x, y) => x.region.localeCompare(y.region));
  const regions = stacks.map(regionOf);
  const backups = stacks.map(backupsOf);
  const facts = {
    ...(a.env ? { env: a.env } : {}),
    regions,
    encryption: stacks.flatMap(encryptionOf),
    residency: residencyOf(a.plan, regions),
    transfers: transfersOf(a.plan),
    ...(a.planAsset ? { planAsset: a.planAsset } : {}),
    edges: stacks.flatMap((s) => edgesOf(s, stacks)).sort(orderEdges),
    backups: backups.flatMap((b) => b.backups),
    auditLock: backups.flatMap((b) => b.locks),
    secrets: stacks.flatMap(secretsOf),
    failover: stacks.map((s) => failoverOf(s, regions, stacks)),
    acknowledgements: acknowledgementsOf(stacks, a.rules),
    pools: a.pools,
  };
  return { ...facts, gaps: gapsOf({ ...facts, hasPlan: a.plan !== undefined }) };
}
