/**
 * npm run bench (failover part): the game-day scenarios of lib/failover/drill/scenarios.ts on the
 * eight-regions fixture's us cell (us-east-1 fails, us-west-2 takes over), executed from the
 * synthesized state machines on the drill's virtual clock (AWS's published durations). Each figure
 * is printed beside a baseline: a standard-resolution alarm for the page, the seeds' manual
 * runbook (15–30 min) for the start and the writes, the seeds' sub-60-second rerouting for the
 * traffic. ARC Region switch is described beside them (no timing of its own to model: its
 * Aurora block runs the same FailoverGlobalCluster). Written to bench/failover-results.json.
 */
import { modelledRto } from '../lambda/shared/failover/decide';
import { VOTE } from '../lambda/shared/failover/votes';
import { DETECTION } from '../lambda/shared/failover/watch';
import { synthesizedRunbooks } from '../lib/failover/drill/run';
import { runScenario, SCENARIOS, type ScenarioResult } from '../lib/failover/drill/scenarios';
import { benchConfig, sized, writeResults } from './options';
import type { Result } from './result';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';

/** The seeds' targets: sub-60-second rerouting; a manual runbook takes 15–30 minutes. */
const SEED_REROUTE_SECONDS = 60;
const SEED_MANUAL_RUNBOOK_SECONDS = 15 * 60;

/**
 * ARC Region switch, as AWS documents it (Region switch plans, execution blocks: API reference
 * ExecutionBlockConfiguration): a plan switches between two Regions; its blocks cover Aurora
 * global databases, routing controls, compute scaling, approvals and custom Lambda functions —
 * no ElastiCache Global Datastore, OpenSearch or Cloudflare block (each would be a custom Lambda).
 */
const ARC =
  'ARC Region switch: two Regions per plan, Aurora block = the same FailoverGlobalCluster, no cache/search/Cloudflare blocks (custom Lambda each)';

async function main() {
  const config = benchConfig();
  // As the shipped example sets it: cells of two regions start their runbook by themselves.
  for (const [id, j] of Object.entries(config.global.jurisdictions))
    if (config.regions.filter((r) => r.jurisdiction === id).length > 1)
      (j as { failover: { start: string } }).failover.start = 'auto';
  const runbooks = synthesizedRunbooks(config);
  const names = sized(Object.keys(SCENARIOS), ['primary-dies']);
  const runs: ScenarioResult[] = [];
  for (const name of names)
    runs.push(await runScenario(config, name, { region: 'us-east-1', runbooks }));
  const primary = runs.find((r) => r.name === 'primary-dies');
  const region = config.regions.find((r) => r.id === 'us-east-1');
  const f = region?.settings.failover;
  const traffic = modelledRto({
    intervalSeconds: f?.healthCheckIntervalSeconds ?? 10,
    failureThreshold: f?.failureThreshold ?? 3,
    ttlSeconds: config.global.routing.ttlSeconds,
    stepSeconds: 0,
  }).total;
  const figure = (name: string, value: number, baseline: number, note: string): Result => ({
    name,
    value: Number(value.toFixed(2)),
    unit: 's',
    baseline,
    ratio: Number((baseline / value).toFixed(2)),
    note,
  });
  const results: Result[] = [
    figure(
      'failover.page',
      primary?.pageSeconds ?? Number.NaN,
      (VOTE.streak + 1) * 60,
      `goal ≤ 45 s; measured in the drill world: a majority of 3 watchers, each ${VOTE.streak} failed probes ${DETECTION.probeSeconds} s apart, rounds out of phase, then the majority alarm; baseline: the same votes at standard (60 s) resolution`,
    ),
    figure(
      'failover.start',
      primary?.startSeconds ?? Number.NaN,
      SEED_MANUAL_RUNBOOK_SECONDS,
      'goal ≤ 60 s (failover.start: auto); baseline: the seeds’ manual runbook, 15 min at best',
    ),
    figure(
      'failover.rpo',
      primary?.lost?.seconds ?? Number.NaN,
      primary?.rpoSeconds ?? Number.NaN,
      `what the drill world's write stream (10,000 writes a minute) lost at the failover: ${primary?.lost?.writes ?? '?'} writes; baseline: the RPO the runbook records (the target's last replication lag); ARC Region switch's Aurora block makes the same unplanned FailoverGlobalCluster`,
    ),
    figure(
      'failover.traffic-off',
      traffic,
      SEED_REROUTE_SECONDS,
      'goal ≤ 60 s: Route 53 health checks (interval × threshold) + TTL, no runbook step needed; baseline: the seeds’ sub-60-second rerouting',
    ),
    figure(
      'failover.writes-accepted',
      primary?.writesAcceptedSeconds ?? Number.NaN,
      SEED_MANUAL_RUNBOOK_SECONDS,
      `goal ≤ 150 s: measured in the drill world when the failed region's clients write again — their requests routed by Route 53 as modelled (health checks from the template, TTL, record changes after propagation) to a region whose database takes writes (Aurora promoted ${primary?.promotedSeconds ?? '?'} s after the failure; ${primary?.outcomes['primary-dies']}); baseline: the seeds’ manual runbook; ${ARC}`,
    ),
    {
      name: 'failover.split-brain',
      value: runs.reduce((n, r) => n + r.splitBrain + r.staleActions, 0),
      unit: 'instants',
      baseline: 0,
      ratio: 1,
      note: `over ${runs.map((r) => r.name).join(', ')}: instants two regions accepted writes, plus actions without a valid token (goal 0)`,
    },
  ];
  for (const r of results)
    console.log(
      `${r.name.padEnd(25)} ${String(r.value).padStart(8)} ${r.unit.padEnd(8)} baseline ${String(r.baseline).padStart(5)}  [${r.note}]`,
    );
  for (const r of runs)
    console.log(
      `  scenario ${r.name.padEnd(18)} ${Object.values(r.outcomes).join(' / ')}; split-brain ${r.splitBrain}`,
    );
  console.log(`wrote ${writeResults('failover-results.json', results)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
