/**
 * How a runbook execution is started and named, shared by the trigger (./trigger.ts), the
 * operator's CLI and the region-down alarm's description (lib/failover/runner.ts). Pure: no SDK.
 */

/** `failover.start` of a cell. */
export const START_MODES = ['auto', 'approve'] as const;
export type StartMode = (typeof START_MODES)[number];

/** `yyyymmddThhmmss` (UTC) of `at`: the time part of an execution name. */
export const executionStamp = (at: Date): string =>
  at.toISOString().replace(/[-:]/g, '').slice(0, 15);

/** `<kind>-<region>-<UTC yyyymmddThhmmss>`: `auto-…` when the trigger starts it, `failover-…` by hand. */
export const executionName = (kind: 'auto' | 'failover', region: string, at: Date): string =>
  `${kind}-${region}-${executionStamp(at)}`;

/**
 * The `aws stepfunctions start-execution` command an on-call engineer runs: `input` inline as
 * JSON, or a `file://…` the command reads it from.
 */
export function startCommand(
  region: string,
  stateMachineArn: string,
  name: string,
  input: object | `file://${string}`,
): string {
  const value =
    typeof input === 'string' ? input : `'${JSON.stringify(input).replace(/'/g, "'\\''")}'`;
  return `aws stepfunctions start-execution --region ${region} --state-machine-arn ${stateMachineArn} --name ${name} --input ${value}`;
}

/** `failover.start` when a cell sets none: a person decides. */
export const DEFAULT_START: StartMode = 'approve';
/** `failover.minMinutesBetweenStarts` when a cell sets none. */
export const DEFAULT_MIN_MINUTES_BETWEEN_STARTS = 30;
