/**
 * Sync rules carried per data class in the residency plan: how concurrent versions are resolved
 * and how a masked projection is built for each target jurisdiction. Plain data, from regions/.
 */

export const CONFLICT_STRATEGIES = ['lww', 'home-wins', 'field-merge', 'manual'] as const;
/**
 * - `lww`: last writer wins by a total order (HLC, then origin region, then event id);
 * - `home-wins`: a version written in the record's home region beats any other, then `lww`;
 * - `field-merge`: each top-level field is its own last-writer-wins register;
 * - `manual`: `lww` keeps replicas converged, and concurrent versions from different regions
 *   are kept as siblings in the review table, with a notification.
 */
export type ConflictStrategy = (typeof CONFLICT_STRATEGIES)[number];

export const MASK_ACTIONS = ['keep', 'erase', 'pseudonymise', 'encrypt'] as const;
/**
 * - `keep`: sent as is; `erase`: removed; `pseudonymise`: a keyed HMAC token (same input, same
 *   token, so masked records stay joinable); `encrypt`: envelope-encrypted with the home region's
 *   key, so only the home region can read it back.
 */
export type MaskAction = (typeof MASK_ACTIONS)[number];

export interface MaskingRules {
  /** Field path (`email`, `address.city`, `address.*`) → action, for every target. */
  readonly fields: Readonly<Record<string, MaskAction>>;
  /** Target jurisdiction → overrides of `fields` for that target. */
  readonly jurisdictions: Readonly<Record<string, Readonly<Record<string, MaskAction>>>>;
}

export const SYNC_PRIORITIES = ['realtime', 'batch'] as const;
/**
 * - `realtime`: the relay sends a committed row within milliseconds (LISTEN/NOTIFY on commit);
 * - `batch`: only the scheduled run sends it, so a bulk load of the class never delays a
 *   realtime class (the relay does not claim it).
 */
export type SyncPriority = (typeof SYNC_PRIORITIES)[number];

export interface SyncRules {
  readonly conflict: ConflictStrategy;
  readonly priority: SyncPriority;
  /** Applies when the plan says `masked`; any field no rule names is erased. */
  readonly masking: MaskingRules;
}

export const DEFAULT_SYNC_RULES: SyncRules = {
  conflict: 'lww',
  priority: 'realtime',
  masking: { fields: {}, jurisdictions: {} },
};
