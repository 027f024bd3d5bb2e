#!/usr/bin/env node
/**
 * npm run failover -- --from <region> [--mode auto|switchover|failover] [--reason "..."] [--env prod]
 * npm run failover -- --failback <original region> [--env prod]
 *
 * Prints the execution input and the `aws stepfunctions start-execution` line that starts the
 * failover runbook in the region it would activate. It starts nothing itself (no credentials here).
 */
import { parseArgs } from 'node:util';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import {
  FailoverRequestError,
  failbackCommand,
  failoverInput,
  runnerRegion,
  startExecutionCommand,
} from '../lib/failover/runner';

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

try {
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
    process.exit(0);
  }
  if (values.failback) {
    const config = loadConfig({ env: values.env });
    const fb = failbackCommand(config, values.failback);
    process.stdout.write(
      [
        `# Failback into ${fb.input.originalRegion} (cell ${fb.input.cell}) from ${fb.input.currentRegion}: waits for it to stay healthy, then for your approval`,
        '# Execution input:',
        JSON.stringify(fb.input, null, 2),
        '',
        fb.command,
        '',
      ].join('\n'),
    );
    process.exit(0);
  }
  if (!values.from)
    throw new FailoverRequestError('--from <region> is required, e.g. --from eu-west-1');
  const config = loadConfig({ env: values.env });
  const input = failoverInput(config, values.from, values.mode, values.reason);
  const runner = runnerRegion(config, values.from);
  process.stdout.write(
    [
      `# Failover of ${values.from} (cell ${input.cell}), mode ${input.mode}, run from ${runner}`,
      ...(runner === values.from
        ? [
            `# ${values.from} is the only region of ${input.cell}: the runbook will end in manual intervention`,
          ]
        : []),
      `# Execution input:`,
      JSON.stringify(input, null, 2),
      '',
      startExecutionCommand(config, input),
      '',
    ].join('\n'),
  );
} catch (err) {
  if (
    !(err instanceof ConfigError) &&
    !(err instanceof FailoverRequestError) &&
    !(err instanceof TypeError)
  )
    throw err;
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
}
