/**
 * Where a failover runs and what it is started with, from regions/: the runbook runs in the region
 * it would activate (the failed region's best same-jurisdiction peer), so it does not depend on
 * the region that failed. Shared by `npm run failover` and `npm run drill`.
 */

import type { Mode } from '../../lambda/shared/failover/decide';
import { executionName, startCommand } from '../../lambda/shared/failover/start';
import type { RunbookInput } from '../../lambda/shared/failover/steps';
import type { MeridianConfig } from '../config/load';
import { Naming } from '../naming';
import { stateMachineArn } from './failover-runbook';

export class FailoverRequestError extends Error {
  override readonly name = 'FailoverRequestError';
}

export const MODES: readonly Mode[] = ['auto', 'switchover', 'failover'];

/** The region whose runbook handles a failure of `failed`. */
export function runnerRegion(config: MeridianConfig, failed: string): string {
  const region = config.regions.find((r) => r.id === failed);
  if (!region)
    throw new FailoverRequestError(
      `--from ${failed}: not a region of regions/ (${config.regions.map((r) => r.id).join(', ')})`,
    );
  const peers = config.regions
    .filter((r) => r.jurisdiction === region.jurisdiction && r.id !== failed)
    .filter((r) => !region.failoverTo || region.failoverTo.includes(r.id))
    .sort((a, b) => a.failoverPriority - b.failoverPriority || b.capacity - a.capacity);
  // A cell with one region runs it from there: the runbook then ends in manual intervention.
  return peers[0]?.id ?? failed;
}

export function failoverInput(
  config: MeridianConfig,
  failed: string,
  mode: string,
  reason?: string,
): RunbookInput {
  if (!MODES.includes(mode as Mode))
    throw new FailoverRequestError(`--mode ${mode}: expected one of ${MODES.join(', ')}`);
  runnerRegion(config, failed); // refuses a region regions/ does not have
  const cell = config.regions.find((r) => r.id === failed)?.jurisdiction ?? '';
  return {
    cell,
    failedRegion: failed,
    mode: mode as Mode,
    ...(reason ? { reason } : {}),
  };
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
  const account = config.regions.find((r) => r.id === runner)?.account ?? config.global.account;
  const arn = stateMachineArn(
    'aws',
    runner,
    account,
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
  const current = runnerRegion(config, original);
  if (current === original)
    throw new FailoverRequestError(
      `--failback ${original}: it is the only region of its jurisdiction; there is nothing to fail back from`,
    );
  const cell = config.regions.find((r) => r.id === original)?.jurisdiction ?? '';
  const input = { cell, originalRegion: original, currentRegion: current };
  const account = config.regions.find((r) => r.id === current)?.account ?? config.global.account;
  const arn = stateMachineArn(
    'aws',
    current,
    account,
    new Naming(config.global.platform, config.env).failback(current),
  );
  const name = `failback-${original}-${at.toISOString().replace(/[-:]/g, '').slice(0, 15)}`;
  return {
    input,
    command: `aws stepfunctions start-execution --region ${current} --state-machine-arn ${arn} --name ${name} --input '${JSON.stringify(input)}'`,
  };
}
