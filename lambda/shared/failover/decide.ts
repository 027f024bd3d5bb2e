/**
 * The runbook's decisions, pure: is the failure real (a quorum of independent signals), what to
 * do about it, and which region takes over. Never a region of another jurisdiction: a cell with no
 * healthy region of its own goes to manual intervention.
 */

/** One signal about the suspected region: unhealthy, healthy, or unknown (could not ask). */
export type Signal = 'unhealthy' | 'healthy' | 'unknown';

export interface Verification {
  readonly region: string;
  readonly signals: Readonly<Record<string, Signal>>;
  readonly details: Readonly<Record<string, string>>;
  readonly unhealthy: number;
  readonly quorum: number;
  readonly confirmed: boolean;
  /** The old writer still answers (health endpoint's aurora-writer check). */
  readonly writerReachable: boolean;
  /** Last known replication lag into the cell's secondaries (s), for the RPO estimate. */
  readonly replicationLagSeconds?: number;
  readonly at: number;
}

export function verify(
  region: string,
  signals: Record<string, Signal>,
  details: Record<string, string>,
  quorum: number,
  writerReachable: boolean,
  at: number,
  replicationLagSeconds?: number,
): Verification {
  const unhealthy = Object.values(signals).filter((s) => s === 'unhealthy').length;
  return {
    region,
    signals,
    details,
    unhealthy,
    quorum,
    // With watchers, their majority is required as well: the other signals may all come down one
    // cut path (this region's probe, its view of the alarms), the votes cannot.
    confirmed:
      unhealthy >= quorum && (signals.watchers === undefined || signals.watchers === 'unhealthy'),
    writerReachable,
    ...(replicationLagSeconds !== undefined ? { replicationLagSeconds } : {}),
    at,
  };
}

export type Mode = 'auto' | 'switchover' | 'failover';
export type Action = 'none' | 'switchover' | 'failover' | 'manual';

export interface Assessment {
  readonly action: Action;
  readonly severity: 'info' | 'warning' | 'critical';
  readonly reason: string;
}

/**
 * - a planned switchover needs the old writer reachable (RPO 0), else it is a manual decision;
 * - an unconfirmed failure is no action (one bad probe cannot trigger a failover);
 * - a confirmed failure with the writer still reachable and lag within the threshold is a
 *   graceful switchover (RPO 0); otherwise an immediate failover that allows data loss.
 */
export function assess(v: Verification, mode: Mode, maxSwitchoverLagSeconds: number): Assessment {
  if (mode === 'switchover')
    return v.writerReachable
      ? {
          action: 'switchover',
          severity: 'info',
          reason: 'planned switchover: writer reachable, RPO 0',
        }
      : {
          action: 'manual',
          severity: 'critical',
          reason:
            'planned switchover asked for, but the writer is unreachable: decide on a failover',
        };
  if (!v.confirmed && mode !== 'failover')
    return {
      action: 'none',
      severity: 'info',
      reason: `${v.unhealthy} of ${Object.keys(v.signals).length} signals unhealthy; quorum is ${v.quorum}`,
    };
  const lagOk = (v.replicationLagSeconds ?? 0) <= maxSwitchoverLagSeconds;
  if (v.writerReachable && lagOk && mode !== 'failover')
    return {
      action: 'switchover',
      severity: 'warning',
      reason: 'region failing but its writer answers: graceful switchover, RPO 0',
    };
  return {
    action: 'failover',
    severity: 'critical',
    reason: v.writerReachable
      ? `replication lag ${v.replicationLagSeconds} s above ${maxSwitchoverLagSeconds} s: failover`
      : 'writer unreachable: failover with possible data loss (RPO = last replication lag)',
  };
}

export interface Candidate {
  readonly id: string;
  readonly jurisdiction: string;
  readonly failoverPriority: number;
  readonly capacity: number;
  readonly healthy: boolean;
}

export interface TargetChoice {
  readonly target?: string;
  readonly reason: string;
  readonly considered: readonly string[];
}

/** The healthy region of the same jurisdiction with the best priority, then capacity. */
export function chooseTarget(
  failed: {
    readonly id: string;
    readonly jurisdiction: string;
    readonly failoverTo?: readonly string[];
  },
  candidates: readonly Candidate[],
): TargetChoice {
  const same = candidates.filter(
    (c) =>
      c.id !== failed.id &&
      c.jurisdiction === failed.jurisdiction &&
      (!failed.failoverTo || failed.failoverTo.includes(c.id)),
  );
  const ranked = same
    .filter((c) => c.healthy)
    .sort(
      (a, b) =>
        a.failoverPriority - b.failoverPriority ||
        b.capacity - a.capacity ||
        a.id.localeCompare(b.id),
    );
  const considered = same.map((c) => `${c.id}${c.healthy ? '' : ' (unhealthy)'}`);
  const best = ranked[0];
  return best
    ? {
        target: best.id,
        reason: `${best.id}: healthy, priority ${best.failoverPriority}`,
        considered,
      }
    : {
        reason:
          same.length === 0
            ? `no other region in ${failed.jurisdiction}: manual intervention (never a cross-jurisdiction promotion)`
            : `no healthy region in ${failed.jurisdiction} (${considered.join(', ')}): manual intervention`,
        considered,
      };
}

/**
 * Modelled recovery time: detection (interval × threshold) then, in parallel, DNS re-routing
 * (TTL) and the runbook's steps; traffic is back when both are done.
 */
export function modelledRto(o: {
  readonly intervalSeconds: number;
  readonly failureThreshold: number;
  readonly ttlSeconds: number;
  readonly stepSeconds: number;
}): { readonly detect: number; readonly total: number } {
  const detect = o.intervalSeconds * o.failureThreshold;
  return { detect, total: detect + Math.max(o.ttlSeconds, o.stepSeconds) };
}
