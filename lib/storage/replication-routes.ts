import type { ResidencyIndex } from '../../lambda/shared/residency-plan';

/** One S3 replication rule: everything, or one key prefix, from a region's bucket to another's. */
export interface ObjectRoute {
  readonly to: string;
  /** Undefined: the whole bucket (every class may go in full). */
  readonly prefix?: string;
  readonly dataClass?: string;
  readonly mode: 'full' | 'masked';
}

/**
 * Key layout of a data bucket: `<class>/…` for records of a class, and
 * `masked/<target-jurisdiction>/<class>/…` for the masked projections the sync pipeline writes for
 * a jurisdiction. These are the routes the residency plan allows from `from`, per target region:
 * the whole bucket where every class may go in full, otherwise one prefix per allowed class.
 */
export function objectRoutes(index: ResidencyIndex, from: string): ObjectRoute[] {
  const classes = index.plan.dataClasses.map((c) => c.id);
  return index.plan.regions
    .filter((r) => r.id !== from)
    .flatMap((to): ObjectRoute[] => {
      const decisions = classes.map((c) => [c, index.decide(c, from, to.id)] as const);
      if (decisions.every(([, d]) => d.allowed && d.mode === 'full'))
        return [{ to: to.id, mode: 'full' }];
      return decisions.flatMap(([c, d]): ObjectRoute[] => {
        if (!d.allowed) return [];
        return d.mode === 'full'
          ? [{ to: to.id, prefix: `${c}/`, dataClass: c, mode: 'full' }]
          : [
              {
                to: to.id,
                prefix: `masked/${to.jurisdiction}/${c}/`,
                dataClass: c,
                mode: 'masked',
              },
            ];
      });
    });
}

/** Regions an audit bucket (which may hold any class) replicates to: full copies only. */
export function auditRoutes(index: ResidencyIndex, from: string): string[] {
  return index.fullReplicaTargets(
    from,
    index.plan.dataClasses.map((c) => c.id),
  );
}
