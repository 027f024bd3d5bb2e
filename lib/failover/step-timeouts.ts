/**
 * How long one invocation of a runbook step may run (its Lambda timeout), and what that asks of the
 * lock's lease. A step that changes anything presents its fencing token first (`fence`, which
 * renews the lease) and then acts within this one invocation: no other execution can take the lock
 * before the lease it has just renewed runs out, so the lease must outlast the longest invocation,
 * plus the bound on how far two Lambda clocks may disagree (the lease's expiry is written with the
 * holder's clock and compared with the taker's). lib/config/rules.ts leaseOutlastsLongestStep
 * holds `settings.failover.leaseSeconds` to it.
 */
import { CLOCK_SKEW_BOUND_SECONDS } from '../../lambda/shared/failover/writer-lease';

/** Lambda timeout of every step (seconds). */
export const STEP_TIMEOUT_SECONDS = 60;
/** The promote steps wait on the Aurora and ElastiCache control planes (PromotionPending). */
export const PROMOTE_STEP_TIMEOUT_SECONDS = 120;
/** The shortest lease that outlasts any step invocation. */
export const MIN_LEASE_SECONDS =
  Math.max(STEP_TIMEOUT_SECONDS, PROMOTE_STEP_TIMEOUT_SECONDS) + CLOCK_SKEW_BOUND_SECONDS;
