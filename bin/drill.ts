#!/usr/bin/env node
/**
 * npm run drill -- --fail <region> [--mode failover|switchover|auto] [--env prod]
 *
 * Offline failover drill: synthesizes the regional stacks, takes the failover state machine from
 * the template of the region that would run it, and executes it (aws-local-stepfunctions) with
 * every Task bound to its real handler and every AWS/Cloudflare call answered by stateful fakes.
 * Prints the timeline, what changed, and the modelled RTO.
 */
import { parseArgs } from 'node:util';
import { modelledRto } from '../lambda/shared/failover/decide';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import { runbookFor, runDrill } from '../lib/failover/drill/run';
import { DrillWorld } from '../lib/failover/drill/world';
import { FailoverRequestError, failoverInput, runnerRegion } from '../lib/failover/runner';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The steps' Powertools logs and metrics are for CloudWatch; here they would bury the timeline
// (and all carry one service name: every step runs in this one process). POWERTOOLS_LOG_LEVEL
// set by the caller wins.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const USAGE = `Usage: npm run drill -- --fail <region> [--mode failover|switchover|auto] [--env <name>]
  --fail <region>  the region whose failure is drilled (required)
  --mode <mode>    failover (default), switchover or auto
  --env <name>     environment: regions/overlays/<name>.yaml (default prod)
  --help           this text
`;

async function main() {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean' },
      fail: { type: 'string' },
      mode: { type: 'string', default: 'failover' },
      env: { type: 'string', default: DEFAULT_ENV },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (!values.fail)
    throw new FailoverRequestError('--fail <region> is required, e.g. --fail us-east-1');
  const config = loadConfig({ env: values.env });
  const input = failoverInput(config, values.fail, values.mode);
  const runner = runnerRegion(config, values.fail);

  const rb = runbookFor(config, values.fail);

  const world = new DrillWorld(rb.config);
  if (input.mode !== 'switchover') world.fail(values.fail);
  const result = await runDrill(rb, input as never, {
    name: `drill-${values.fail}-${Date.now()}`,
    clock: world,
    notify: (state, message) => world.notifications.push({ subject: state, message }),
  }).finally(() => world.restore());

  const out: string[] = [
    `Drill: ${values.fail} ${input.mode === 'switchover' ? 'planned switchover' : 'fails'} (cell ${input.cell}); runbook ${rb.config.prefix}-${runner}-failover`,
    '',
    'Timeline (state entered, ms from start):',
    ...result.events
      .filter((e) => e.type === 'entered' || e.type === 'failed' || e.type === 'caught')
      .map(
        (e) =>
          `  ${String(e.at - result.startedAt).padStart(6)} ms  ${e.type === 'entered' ? '' : `${e.type}: `}${e.state}`,
      ),
    '',
    'Changes:',
    ...(world.calls.length ? world.calls.map((c) => `  ${c}`) : ['  none']),
    '',
    `Outcome: ${result.status === 'SUCCEEDED' ? String(result.output?.outcome) : `FAILED (${result.error})`}`,
  ];
  const region = config.regions.find((r) => r.id === values.fail);
  const promoted = result.status === 'SUCCEEDED' && result.output?.outcome === 'failed over';
  if (region && promoted) {
    // The drill's clock is virtual: the runbook's time is AWS's published durations
    // (lib/failover/drill/timings.ts), not this machine's.
    const steps = (result.endedAt - result.startedAt) / 1000;
    const rto = modelledRto({
      intervalSeconds: region.settings.failover.healthCheckIntervalSeconds,
      failureThreshold: region.settings.failover.failureThreshold,
      ttlSeconds: config.global.routing.ttlSeconds,
      stepSeconds: steps,
    });
    out.push(
      `Runbook, start to done: ${steps.toFixed(1)} s modelled (Aurora and cache promotion awaited at AWS's published durations)`,
      `Modelled RTO: ${rto.total.toFixed(1)} s = detect ${rto.detect} s (${region.settings.failover.healthCheckIntervalSeconds} s × ${region.settings.failover.failureThreshold}) + max(DNS TTL ${config.global.routing.ttlSeconds} s, runbook ${steps.toFixed(1)} s)`,
    );
  } else out.push('Nothing was promoted: no RTO to report.');
  process.stdout.write(`${out.join('\n')}\n`);
  if (result.status !== 'SUCCEEDED') process.exitCode = 2;
}

main().catch((err) => {
  // parseArgs rejects an unknown or malformed flag with a TypeError coded ERR_PARSE_ARGS_*.
  const usage = String((err as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
  if (err instanceof ConfigError || err instanceof FailoverRequestError || usage) {
    process.stderr.write(`${err.message}\n${usage ? USAGE : ''}`);
    process.exit(1);
  }
  throw err;
});
