#!/usr/bin/env node
/**
 * npm run failover -- --from <region> [--mode auto|switchover|failover] [--reason "..."] [--env prod]
 * npm run failover -- --failback <original region> [--env prod]
 *
 * Prints the execution input and the `aws stepfunctions start-execution` line that starts the
 * failover runbook in the region it would activate. It starts nothing itself (no credentials here).
 *
 * Everything it prints goes to stdout, warnings included, as `#` lines: the output is a script
 * (comments, the input, the command), so a warning stays next to the command it is about when the
 * output is piped, saved or pasted into the incident channel, and pasting it into a shell runs
 * the command only. Errors (nothing to run) go to stderr, with exit 1.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import {
  FailoverRequestError,
  failbackCommand,
  failoverInput,
  failoverTargets,
  placeholderAccountWarning,
  startExecutionCommand,
} from '../lib/failover/runner';
import { runCli, UsageError } from './cli';

const USAGE = `Usage: npm run failover -- --from <region> [--mode auto|switchover|failover] [--reason <text>] [--env <name>]
       npm run failover -- --failback <original region> [--env <name>]
  --from <region>      the region to fail over away from
  --mode <mode>        auto (default), switchover or failover
  --reason <text>      recorded with the execution
  --failback <region>  the region to fail back into (prints the failback command)
  --env <name>         environment: regions/overlays/<name>.yaml (default prod)
  --help               this text
Prints the execution input and the aws stepfunctions start-execution line; starts nothing.
`;

function main(): void {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean' },
      from: { type: 'string' },
      mode: { type: 'string', default: 'auto' },
      reason: { type: 'string' },
      env: { type: 'string', default: DEFAULT_ENV },
      failback: { type: 'string' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.failback) {
    const config = loadConfig({ env: values.env });
    const fb = failbackCommand(config, values.failback);
    const warning = placeholderAccountWarning(config, fb.input.currentRegion);
    process.stdout.write(
      [
        `# Failback into ${fb.input.originalRegion} (cell ${fb.input.cell}) from ${fb.input.currentRegion}: waits for it to stay healthy, then for your approval`,
        '# Execution input:',
        JSON.stringify(fb.input, null, 2),
        '',
        ...(warning ? [warning] : []),
        fb.command,
        '',
      ].join('\n'),
    );
    return;
  }
  if (!values.from) throw new UsageError('--from <region> is required, e.g. --from eu-west-1');
  const config = loadConfig({ env: values.env });
  const input = failoverInput(config, values.from, values.mode, values.reason);
  const targets = failoverTargets(config, values.from);
  const runner = targets[0] ?? values.from;
  const cellHasOthers = config.regions.some(
    (r) => r.jurisdiction === input.cell && r.id !== values.from,
  );
  const warning = placeholderAccountWarning(config, runner);
  process.stdout.write(
    [
      `# Failover of ${values.from} (cell ${input.cell}), mode ${input.mode}, run from ${runner}`,
      ...(targets.length
        ? []
        : [
            cellHasOthers
              ? `# No target: the failoverTo of ${values.from} names none of the other regions of cell ${input.cell}.`
              : `# No target: ${values.from} is the only region of cell ${input.cell}.`,
            `# The runbook will end in manual intervention: nothing will be promoted (never a region of another jurisdiction), and there is no RTO to expect.`,
            `# It runs in ${values.from} itself, so it starts only if ${values.from}'s Step Functions still answers.`,
          ]),
      `# Execution input:`,
      JSON.stringify(input, null, 2),
      '',
      ...(warning ? [warning] : []),
      startExecutionCommand(config, input),
      '',
    ].join('\n'),
  );
}

runCli(main, USAGE, [ConfigError, FailoverRequestError]);
