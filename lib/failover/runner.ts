/**
 * Where a failover runs and what it is started with, from regions/: the runbook runs in the region
 * it would activate (the failed region's best same-jurisdiction peer), so it does not depend on
 * the region that failed. Shared by `npm run failover` and `npm run drill`.
 */

import type { Mode } from '../../lambda/shared/failover/decide';
import { executionName, startCommand } from '../../lambda/shared/failover/start';
import type { RunbookInput } from '../../lambda/shared/failover/steps';
import type { MeridianConfig } from '../config/load';
import { PLACEHOLDER_ACCOUNTS } from '../config/schema';
import { Naming } from '../naming';
import { stateMachineArn } from './failover-runbook';

export class FailoverRequestError extends Error {
  override readonly name = 'FailoverRequestError';
}

export const MODES: readonly Mode[] = ['auto', 'switchover', 'failover'];

/**
 * The regions that could take over from `failed`, best first: the other regions of its
 * jurisdiction that its `failoverTo` allows. Empty: nothing can be promoted. `flag` is the command
 * line flag that named `failed`, so a region regions/ does not have is refused in the user's words.
 */
export function failoverTargets(
  config: MeridianConfig,
  failed: string,
  flag = '--from',
): readonly string[] {
  const region = config.regions.find((r) => r.id === failed);
  if (!region)
    throw new FailoverRequestError(
      `${flag} ${failed}: not a region of regions/ (${config.regions.map((r) => r.id).join(', ')})`,
    );
  return config.regions
    .filter((r) => r.jurisdiction === region.jurisdiction && r.id !== failed)
    .filter((r) => !region.failoverTo || region.failoverTo.includes(r.id))
    .sort((a, b) => a.failoverPriority - b.failoverPriority || b.capacity - a.capacity)
    .map((r) => r.id);
}

/** The region whose runbook handles a failure of `failed` (`flag`: see {@link failoverTargets}). */
export function runnerRegion(config: MeridianConfig, failed: string, flag = '--from'): string {
  // A cell with one region runs it from there: the runbook then ends in manual intervention.
  return failoverTargets(config, failed, flag)[0] ?? failed;
}

export function failoverInput(
  config: MeridianConfig,
  failed: string,
  mode: string,
  reason?: string,
  flag = '--from',
): RunbookInput {
  if (!MODES.includes(mode as Mode))
    throw new FailoverRequestError(`--mode ${mode}: expected one of ${MODES.join(', ')}`);
  runnerRegion(config, failed, flag); // refuses a region regions/ does not have
  const cell = config.regions.find((r) => r.id === failed)?.jurisdiction ?? '';
  return {
    cell,
    failedRegion: failed,
    mode: mode as Mode,
    ...(reason ? { reason } : {}),
  };
}

/** The AWS account of `region`'s stack: its own `account`, else the global one. */
export function accountOf(config: MeridianConfig, region: string): string {
  return config.regions.find((r) => r.id === region)?.account ?? config.global.account;
}

/**
 * A `#` line to print before a start command that acts in `region`, when that region's account is
 * a placeholder Meridian ships (PLACEHOLDER_ACCOUNTS): the command would reach no real runbook.
 */
export function placeholderAccountWarning(
  config: MeridianConfig,
  region: string,
  what = 'runbook',
): string | undefined {
  const account = accountOf(config, region);
  return PLACEHOLDER_ACCOUNTS.includes(account)
    ? `# WARNING: account ${account} is a placeholder (Meridian ships it), not a real AWS account: this command starts no ${what} of yours. Set \`account\` in regions/global.yaml (or regions/${region}.yaml, or the overlay), then print the command again.`
    : undefined;
}

/** The shell's `yyyymmddThhmmss` (UTC) of the moment a command runs. */
export const SHELL_STAMP = '$(date -u +%Y%m%dT%H%M%S)';

/**
 * The `aws stepfunctions start-execution` command an on-call engineer runs. `at` is the time in
 * the execution's name; `'shell'` names it when the command runs ({@link SHELL_STAMP}), for a
 * command written at synth (the region-down alarm's description).
 */
export function startExecutionCommand(
  config: MeridianConfig,
  input: RunbookInput,
  at: Date | 'shell' = new Date(),
): string {
  const runner = runnerRegion(config, input.failedRegion);
  const arn = stateMachineArn(
    'aws',
    runner,
    accountOf(config, runner),
    new Naming(config.global.platform, config.env).runbook(runner),
  );
  const name =
    at === 'shell'
      ? `failover-${input.failedRegion}-${SHELL_STAMP}`
      : executionName('failover', input.failedRegion, at);
  return startCommand(runner, arn, name, input);
}

/** Failback: the original region takes its role back; run from the region that took over. */
export function failbackCommand(
  config: MeridianConfig,
  original: string,
  at = new Date(),
): {
  input: { cell: string; originalRegion: string; currentRegion: string };
  command: string;
} {
  const current = runnerRegion(config, original, '--failback');
  if (current === original)
    throw new FailoverRequestError(
      `--failback ${original}: it is the only region of its jurisdiction; there is nothing to fail back from`,
    );
  const cell = config.regions.find((r) => r.id === original)?.jurisdiction ?? '';
  const input = { cell, originalRegion: original, currentRegion: current };
  const arn = stateMachineArn(
    'aws',
    current,
    accountOf(config, current),
    new Naming(config.global.platform, config.env).failback(current),
  );
  const name = `failback-${original}-${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  return {
    input,
    command: `aws stepfunctions start-execution --region ${current} --state-machine-arn ${arn} --name ${name} --input '${JSON.stringify(input)}'`,
  };
}
