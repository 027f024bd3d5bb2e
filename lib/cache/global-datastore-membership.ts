import type { ResidencyIndex } from '../../lambda/shared/residency-plan';

/**
 * Global Datastore ID prefixes ElastiCache applies per primary region (AWS ElastiCache user guide,
 * "Using global datastores (CLI)"). A region missing here is not documented to support Global
 * Datastore, so Meridian never puts it in one. Knowing the prefix lets a secondary region join by
 * full ID without a cross-region reference.
 */
export const GLOBAL_DATASTORE_PREFIX: Readonly<Record<string, string>> = {
  'us-east-1': 'ldgnf',
  'us-east-2': 'fpkhr',
  'us-west-1': 'virxk',
  'us-west-2': 'sgaui',
  'ca-central-1': 'bxodz',
  'ap-south-1': 'erpgt',
  'ap-northeast-1': 'quwsw',
  'ap-northeast-2': 'lfqnh',
  'ap-northeast-3': 'nlapn',
  'ap-southeast-1': 'vlqxn',
  'ap-southeast-2': 'vbgxd',
  'eu-central-1': 'iudkw',
  'eu-west-1': 'gxeiz',
  'eu-west-2': 'okuqm',
  'eu-west-3': 'fgjhi',
  'sa-east-1': 'juxlw',
  'ap-east-1': 'knjmp',
};

/** AWS allows a Global Datastore at most two secondary regions. */
export const MAX_DATASTORE_SECONDARIES = 2;

export type CacheMembership =
  | {
      readonly role: 'primary';
      readonly suffix: string;
      readonly globalId: string;
      readonly secondaries: readonly string[];
    }
  | { readonly role: 'secondary'; readonly globalId: string; readonly primary: string }
  | { readonly role: 'standalone'; readonly why: string };

/**
 * A region's place in its cell's cache Global Datastore, from the residency plan: members are the
 * cell's regions the primary may copy every cached class to in full, that support Global Datastore,
 * in failover order, at most two secondaries. Everyone else runs a regional (multi-AZ) cache.
 */
export function cacheMembership(
  index: ResidencyIndex,
  region: string,
  classes: readonly string[],
  suffixOf: (jurisdiction: string) => string,
): CacheMembership {
  const cell = index.cellOf(region);
  if (!cell) return { role: 'standalone', why: 'the region is in no jurisdiction cell' };
  const prefix = GLOBAL_DATASTORE_PREFIX[cell.primary];
  if (!prefix) {
    return {
      role: 'standalone',
      why: `${cell.primary} is not documented to support Global Datastore`,
    };
  }
  const allowed = index.fullReplicaTargets(cell.primary, classes);
  const secondaries = cell.regions
    .filter(
      (r) => r !== cell.primary && allowed.includes(r) && GLOBAL_DATASTORE_PREFIX[r] !== undefined,
    )
    .slice(0, MAX_DATASTORE_SECONDARIES);
  const suffix = suffixOf(cell.jurisdiction);
  const globalId = `${prefix}-${suffix}`;
  if (secondaries.length === 0) {
    return {
      role: 'standalone',
      why: `no other region of ${cell.jurisdiction} may join ${cell.primary}'s Global Datastore`,
    };
  }
  if (region === cell.primary) return { role: 'primary', suffix, globalId, secondaries };
  if (secondaries.includes(region)) return { role: 'secondary', globalId, primary: cell.primary };
  return {
    role: 'standalone',
    why: GLOBAL_DATASTORE_PREFIX[region]
      ? `the Global Datastore of ${cell.jurisdiction} already has ${MAX_DATASTORE_SECONDARIES} secondaries`
      : `${region} is not documented to support Global Datastore`,
  };
}
