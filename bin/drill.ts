#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { modelledRto } from '../lambda/shared/failover/decide';
/**
 * npm run drill -- --fail <region> [--mode failover|switchover|auto] [--env prod]
 *
 * Offline failover drill: synthesizes the regional stacks, takes the failover state machine from
 * the template of the region that would run it, and executes it (aws-local-stepfunctions) with
 * every Task bound to its real handler and every AWS/Cloudflare call answered by stateful fakes.
 * Prints the timeline, what changed, and the modelled RTO.
 */
import { DETECTION } from '../lambda/shared/failover/watch';
import { ResidencyIndex } from '../lambda/shared/residency-plan';
import { DEFAULT_ENV, loadConfig } from '../lib/config/load';
import { ConfigError } from '../lib/config/problems';
import { runSubjectRequestDrill, subjectRequestDrillReport } from '../lib/dsr/drill/run';
import { runMatrix, WRITES_ACCEPTED_GOAL_SECONDS } from '../lib/failover/drill/matrix';
import { runbookFor, runDrill } from '../lib/failover/drill/run';
import {
  pageExplained,
  pageSeconds,
  runScenario,
  SCENARIOS,
  type ScenarioResult,
} from '../lib/failover/drill/scenarios';
import { TIMINGS } from '../lib/failover/drill/timings';
import { DrillWorld } from '../lib/failover/drill/world';
import { FailoverRequestError, failoverInput, runnerRegion } from '../lib/failover/runner';
import { UsageError } from './cli';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// The steps' Powertools logs and metrics are for CloudWatch; here they would bury the timeline
// (and all carry one service name: every step runs in this one process). POWERTOOLS_LOG_LEVEL
// set by the caller wins.
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

const USAGE = `Usage: npm run drill -- --fail <region> [--mode failover|switchover|auto] [--env <name>]
       npm run drill -- --scenario <name> [--region <region>] [--env <name>]
       npm run drill -- --matrix [--region <region>] [--env <name>]
       npm run drill -- --dsr <erase|access> --jurisdiction <id> [--down <region>] [--env <name>]
  --fail <region>    the region whose failure is drilled
  --mode <mode>      failover (default), switchover or auto
  --scenario <name>  a game-day scenario: ${Object.keys(SCENARIOS).join(', ')}
  --matrix           every cut of every cell's nodes (writer, takeover, watchers, lock members) at
                     four instants; exits 2 when a run has two writers, fails over a writer its
                     watchers see, or misses a due failover
  --region <region>  the scenario's or matrix's cell (a region of it; default the first cell of
                     two regions for a scenario, every cell for the matrix)
  --dsr <action>     a data-subject request of a made-up subject, run by the jurisdiction's
                     subject-request state machine; exits 2 unless it completes and (erase)
                     nothing of the subject is left anywhere
  --jurisdiction <id> the subject's jurisdiction (--dsr)
  --down <region>    a region that does not answer for the whole drill (--dsr; repeatable)
  --env <name>       environment: regions/overlays/<name>.yaml (default prod)
  --help             this text
Timings are modelled: AWS's published durations (lib/failover/drill/timings.ts), not this machine's.
`;

/** A scenario's figures, one per line, as an on-call engineer reads them. */
function scenarioReport(r: ScenarioResult): string {
  const s = (v: number | null | undefined) => (typeof v === 'number' ? `${v.toFixed(1)} s` : '—');
  return [
    `Scenario ${r.name}: ${r.summary}`,
    '',
    ...Object.entries(r.outcomes).map(([name, o]) => `  execution ${name}: ${o}`),
    '',
    `  time to page:                   ${s(r.pageSeconds)}`,
    `  time to start:                  ${r.startSeconds !== undefined ? s(r.startSeconds) : r.pageSeconds === undefined ? '— (no page: no majority of watchers saw the region down)' : '— (failover.start: approve — a person starts it from the page)'}`,
    ...(r.acceptingWrites
      ? [`  accepting writes at the end:    ${r.acceptingWrites.join(', ') || 'none'}`]
      : []),
    `  writes accepted in the target:  ${s(r.writesAcceptedSeconds)}${r.promotedSeconds !== undefined ? ` (the failed region's clients, through Route 53; Aurora promoted at ${s(r.promotedSeconds)})` : ''}`,
    `  RPO:                            ${s(r.rpoSeconds)}`,
    ...(r.lost
      ? [
          `  lost from the write stream:     ${s(r.lost.seconds)} (${r.lost.writes} writes at 10,000 a minute)`,
        ]
      : []),
    `  split-brain instants:           ${r.splitBrain}`,
    `  actions without a valid token:  ${r.staleActions}`,
    '',
    'Changes:',
    ...(r.changes.length ? r.changes.map((c) => `  ${c}`) : ['  none']),
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({
    options: {
      help: { type: 'boolean' },
      fail: { type: 'string' },
      scenario: { type: 'string' },
      matrix: { type: 'boolean' },
      region: { type: 'string' },
      dsr: { type: 'string' },
      jurisdiction: { type: 'string' },
      down: { type: 'string', multiple: true },
      mode: { type: 'string', default: 'failover' },
      env: { type: 'string', default: DEFAULT_ENV },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  if (values.dsr !== undefined) {
    if (values.dsr !== 'erase' && values.dsr !== 'access')
      throw new UsageError(`--dsr ${values.dsr}: expected erase or access`);
    if (!values.jurisdiction) throw new UsageError('--jurisdiction <id> is required');
    const config = loadConfig({ env: values.env });
    const index = new ResidencyIndex(config.plan);
    if (!index.plan.cells.some((c) => c.jurisdiction === values.jurisdiction))
      throw new UsageError(
        `--jurisdiction ${values.jurisdiction}: not a jurisdiction with a cell in regions/ (${index.plan.cells.map((c) => c.jurisdiction).join(', ')})`,
      );
    for (const r of values.down ?? [])
      if (!config.regions.some((x) => x.id === r))
        throw new UsageError(`--down ${r}: not a region of regions/`);
    const o = {
      action: values.dsr,
      jurisdiction: values.jurisdiction,
      ...(values.down ? { down: values.down } : {}),
    } as const;
    const d = await runSubjectRequestDrill(config, index, o);
    process.stdout.write(subjectRequestDrillReport(o, d));
    if (!d.ok) process.exitCode = 2;
    return;
  }
  if (values.matrix) {
    const config = loadConfig({ env: values.env });
    if (values.region && !config.regions.some((r) => r.id === values.region))
      throw new FailoverRequestError(
        `--region ${values.region}: not a region of regions/ (${config.regions.map((r) => r.id).join(', ')})`,
      );
    const started = Date.now();
    const m = await runMatrix(config, values.region ? { region: values.region } : {});
    const byCell = m.cells.map((cell) => {
      const runs = m.runs.filter((r) => r.cell === cell);
      const due = runs.filter((r) => r.mustFailOver);
      const kept = runs.filter((r) => r.mustNotFailOver).length;
      const worst = Math.max(0, ...due.map((r) => r.writesAcceptedSeconds ?? 0));
      return `  ${cell.padEnd(6)} ${String(runs.length).padStart(4)} runs, ${String(due.length).padStart(4)} with a failover due (writes accepted by ${worst.toFixed(1)} s at worst), ${String(kept).padStart(4)} with a live writer its watchers see, ${runs.filter((r) => r.problem).length} failing`;
    });
    process.stdout.write(
      [
        `Partition matrix: ${m.cells.length} cell(s), ${m.cuts} cuts × 4 instants (no failure, with the failure, after the page, mid-runbook) = ${m.runs.length} runs in ${((Date.now() - started) / 1000).toFixed(0)} s`,
        ...byCell,
        `  runs with two writers: ${m.runs.filter((r) => r.splitBrain > 0).length}`,
        `  runs with a change by an execution without a valid token: ${m.runs.filter((r) => r.actionsWithoutToken > 0).length}`,
        `  runs in which the writer fenced itself (lease lost or not renewable): ${m.runs.filter((r) => r.writerFenced).length}`,
        `  runs failing over a writer its watchers see: ${m.failures.filter((r) => r.splitBrain === 0 && r.mustNotFailOver).length}`,
        `  runs missing a due failover (or its ${WRITES_ACCEPTED_GOAL_SECONDS} s goal): ${m.failures.filter((r) => r.splitBrain === 0 && r.mustFailOver).length}`,
        ...m.failures
          .slice(0, 20)
          .map((r) => `  FAIL ${r.cell} [${r.instant}] ${r.cut}: ${r.problem}`),
        '',
      ].join('\n'),
    );
    if (m.failures.length > 0) process.exitCode = 2;
    return;
  }
  if (values.scenario) {
    if (!SCENARIOS[values.scenario])
      throw new FailoverRequestError(
        `--scenario ${values.scenario}: expected one of ${Object.keys(SCENARIOS).join(', ')}`,
      );
    const config = loadConfig({ env: values.env });
    if (values.region && !config.regions.some((r) => r.id === values.region))
      throw new FailoverRequestError(
        `--region ${values.region}: not a region of regions/ (${config.regions.map((r) => r.id).join(', ')})`,
      );
    const r = await runScenario(config, values.scenario, {
      ...(values.region ? { region: values.region } : {}),
    }).catch((err: Error) => {
      if (/cell of two or more regions/.test(err.message))
        throw new FailoverRequestError(`--scenario ${values.scenario}: ${err.message}`);
      throw err;
    });
    process.stdout.write(`${scenarioReport(r)}\n`);
    if (r.splitBrain > 0 || r.staleActions > 0) process.exitCode = 2;
    return;
  }
  if (!values.fail)
    throw new FailoverRequestError(
      '--fail <region> or --scenario <name> is required, e.g. --fail us-east-1',
    );
  const config = loadConfig({ env: values.env });
  const input = failoverInput(config, values.fail, values.mode, undefined, '--fail');
  const runner = runnerRegion(config, values.fail);

  const rb = runbookFor(config, values.fail);

  const world = new DrillWorld(rb.config);
  // The failure, and the watchers' rounds until a majority of them votes it down (the page).
  let seenMs: number | undefined;
  if (input.mode !== 'switchover') {
    world.fail(values.fail);
    seenMs = world.untilWatchersSeeDown(values.fail);
  }
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
    const f = region.settings.failover;
    const rto = modelledRto({
      intervalSeconds: f.healthCheckIntervalSeconds,
      failureThreshold: f.failureThreshold,
      ttlSeconds: config.global.routing.ttlSeconds,
      stepSeconds: 0,
    });
    const target = String((result.output?.target as { target?: string } | undefined)?.target);
    const writer = world.writerSince.get(target);
    const toWrites = writer !== undefined ? (writer - result.startedAt) / 1000 : undefined;
    const auto = config.global.jurisdictions[region.jurisdiction]?.failover?.start === 'auto';
    const page =
      seenMs === undefined
        ? pageSeconds()
        : (seenMs + DETECTION.probeTimeoutMs + DETECTION.evaluationSeconds * 1000) / 1000;
    out.push(
      `Traffic off ${values.fail}: ${rto.total} s after the failure (Route 53 health checks: detect ${rto.detect} s = ${f.healthCheckIntervalSeconds} s × ${f.failureThreshold}, then DNS TTL ${config.global.routing.ttlSeconds} s; no runbook needed)`,
      `Page: ${page.toFixed(1)} s after the failure, measured in the drill (at most ${pageSeconds()} s: ${pageExplained()})`,
      ...(toWrites !== undefined
        ? [
            `Writes accepted in ${target}: ${toWrites.toFixed(1)} s after the runbook starts (Aurora promotion awaited)${auto ? `; ${(page + TIMINGS.alarmToStart.ms / 1000 + toWrites).toFixed(1)} s after the failure with failover.start: auto` : '; failover.start: approve — add the time a person takes to start it from the page'}`,
          ]
        : []),
      `Runbook, start to done: ${((result.endedAt - result.startedAt) / 1000).toFixed(1)} s modelled`,
    );
  } else out.push('Nothing was promoted: no RTO to report.');
  process.stdout.write(`${out.join('\n')}\n`);
  if (result.status !== 'SUCCEEDED') process.exitCode = 2;
}

main().catch((err) => {
  // parseArgs rejects an unknown or malformed flag with a TypeError coded ERR_PARSE_ARGS_*.
  const usage = String((err as { code?: unknown }).code ?? '').startsWith('ERR_PARSE_ARGS');
  const isUsage = usage || err instanceof UsageError;
  if (err instanceof ConfigError || err instanceof FailoverRequestError || isUsage) {
    process.stderr.write(`${err.message}\n${isUsage ? USAGE : ''}`);
    process.exit(1);
  }
  throw err;
});
