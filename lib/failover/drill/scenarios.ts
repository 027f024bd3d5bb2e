/**
 * (Drill, test and bench support: not deployed.)
 * Game-day scenarios: `npm run drill -- --scenario <name>`. Each executes the synthesized failover
 * (and failback) state machines against the drill world on its virtual clock, and measures what
 * an on-call engineer and a reviewer ask: time to page, time to start, time until writes are
 * accepted in the target, RPO, and the split-brain count (modelled instants at which two regions
 * of the cell accepted writes at once). Detection is measured in the world: the watchers' rounds
 * vote into the lock table on the virtual clock, and the page comes when a majority says down.
 */
import { VOTE } from '../../../lambda/shared/failover/votes';
import { DETECTION } from '../../../lambda/shared/failover/watch';
import type { MeridianConfig } from '../../config/load';
import { runnerRegion } from '../runner';
import { MIN_LEASE_SECONDS } from '../step-timeouts';
import {
  type AlarmSpec,
  type DrillResult,
  namedFunctions,
  runDrill,
  type SynthesizedRunbook,
  synthesizedRunbooks,
} from './run';
import { TIMINGS } from './timings';
import { DrillWorld, type DrillWorldOptions } from './world';

export interface ScenarioResult {
  readonly name: string;
  readonly summary: string;
  /** Seconds from the failure to the region-down page (modelled detection). */
  readonly pageSeconds?: number;
  /** Seconds from the failure to the runbook's start (auto start), when it starts by itself. */
  readonly startSeconds?: number;
  /**
   * Seconds from the failure until the failed region's clients write again: their requests, routed
   * by Route 53 as the world models it (health checks, propagation, TTL), reach a region whose
   * database accepts writes. Without modelled clients, until the target's Aurora member is writer.
   */
  readonly writesAcceptedSeconds?: number;
  /** Seconds from the failure until the target's Aurora member was writer. */
  readonly promotedSeconds?: number;
  /** RPO the runbook recorded (s): 0 for a switchover, the target's last replication lag else. */
  readonly rpoSeconds?: number | null;
  /**
   * What the world's write stream (the seeds' 10,000 writes a minute) lost at the failover (the
   * first promotion): seconds of writes the old writer accepted and the new one never received,
   * and their count.
   */
  readonly lost?: { readonly seconds: number; readonly writes: number };
  readonly splitBrain: number;
  /** Mutating calls made by executions whose token was no longer current (must be 0). */
  readonly staleActions: number;
  /** Each execution's outcome, by execution name. */
  readonly outcomes: Readonly<Record<string, string>>;
  /** The calls that changed the world, in order. */
  readonly changes: readonly string[];
  /** The regions of the cell accepting writes when the scenario ends (the modelled database). */
  readonly acceptingWrites?: readonly string[];
  /**
   * The search indices of each region's domain, `<index>: leads | follows <region> (<documents>)`,
   * at named moments (the failback: after the failover, before the switch back, at the end).
   */
  readonly search?: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>>;
  /** Calls the world throttled (the `throttled` scenario). */
  readonly throttledCalls?: number;
}

/**
 * How long the `throttled` scenario's storm holds the APIs: within what a step's Retry policy
 * absorbs (2 s, 4 s, 8 s: 14 s of backoff); longer storms fail the step and roll back.
 */
export const STORM_SECONDS = 10;

/** How pageSeconds() is made up, for the drill's output. */
export function pageExplained(): string {
  return `a majority of the region's watchers each see ${VOTE.streak} failed probes ${DETECTION.probeSeconds} s apart (their rounds out of phase, the last up to one period behind), the last probe taking up to ${DETECTION.probeTimeoutMs / 1000} s, then up to ${DETECTION.evaluationSeconds} s until CloudWatch evaluates the majority alarm`;
}

/**
 * Worst-case seconds from a failure to the region-down page: see DETECTION and VOTE. The
 * scenarios measure it in the world (detect) instead; this is the bound they stay within.
 */
export function pageSeconds(): number {
  return (
    DETECTION.probeSeconds * (VOTE.streak + 1) +
    DETECTION.probeTimeoutMs / 1000 +
    DETECTION.evaluationSeconds
  );
}

export interface Context {
  readonly config: MeridianConfig;
  readonly runbook: (region: string, machine?: 'failover' | 'failback') => SynthesizedRunbook;
  /** The cell drilled: its writer and the region that takes over from it. */
  readonly writer: string;
  readonly peer: string;
  readonly jurisdiction: string;
  readonly load?: (file: string) => { handler: (input: unknown) => Promise<unknown> };
}

type Scenario = {
  readonly summary: string;
  run(ctx: Context): Promise<Omit<ScenarioResult, 'name' | 'summary'>>;
};

const outcome = (r: DrillResult) =>
  r.status === 'SUCCEEDED' ? String(r.output?.outcome) : `FAILED: ${r.error ?? ''}`;

export function execute(
  ctx: Context,
  world: DrillWorld,
  region: string,
  input: Record<string, unknown>,
  name: string,
  o: { before?: Record<string, () => Promise<void>>; machine?: 'failover' | 'failback' } = {},
): Promise<DrillResult> {
  // Functions a step invokes in another region run there, as that region's template defines them.
  const bound = new Map<string, ReadonlyMap<string, (payload: unknown) => Promise<unknown>>>();
  world.functionsIn ??= (r) => {
    let fns = bound.get(r);
    if (!fns) {
      fns = namedFunctions(ctx.runbook(r), ctx.load, world);
      bound.set(r, fns);
    }
    return fns;
  };
  return runDrill(ctx.runbook(region, o.machine), input as never, {
    name,
    clock: world,
    ...(ctx.load ? { load: ctx.load } : {}),
    ...(o.before ? { before: o.before } : {}),
    notify: (state, message) => {
      world.notifications.push({ subject: state, message });
      return state === 'Request approval' ? { approved: true } : undefined;
    },
  });
}

/**
 * When a metric alarm as the template defines it (`spec`) first goes to ALARM over `points` (one
 * datapoint per watch round, stamped with the round's start and published once its probe has
 * timed out, `publishDelayMs` later): the first datapoint that makes `datapointsToAlarm` of the
 * last `evaluationPeriods` periods breach (each period's Maximum; missing periods are missing),
 * then the next evaluation, taken at its worst: a full evaluation interval later (CloudWatch
 * evaluates alarms of a 10 or 30 s period every 10 s, others every minute:
 * https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
 */
export function alarmFiresAt(
  spec: AlarmSpec,
  points: readonly { readonly at: number; readonly value: number }[],
  publishDelayMs: number,
): number | undefined {
  const every = spec.period <= 30 ? 10_000 : 60_000;
  const periodMs = spec.period * 1000;
  const bucket = (t: number) => Math.floor(t / periodMs);
  const breaches = (v: number) =>
    spec.comparison === 'GreaterThanOrEqualToThreshold'
      ? v >= spec.threshold
      : spec.comparison === 'GreaterThanThreshold'
        ? v > spec.threshold
        : spec.comparison === 'LessThanThreshold'
          ? v < spec.threshold
          : v <= spec.threshold;
  for (const [i, point] of points.entries()) {
    const last = bucket(point.at);
    const max = new Map<number, number>();
    for (const q of points.slice(0, i + 1))
      if (bucket(q.at) > last - spec.evaluationPeriods)
        max.set(bucket(q.at), Math.max(max.get(bucket(q.at)) ?? -Infinity, q.value));
    if ([...max.values()].filter(breaches).length >= spec.datapointsToAlarm)
      return point.at + publishDelayMs + every;
  }
  return undefined;
}

/**
 * Failure of `region` at now, detected in the world: the watchers' rounds run on the virtual clock,
 * vote into the lock table and publish WatchersDown; the majority alarm, as the runner's template
 * defines it, is evaluated over each watcher's datapoints. The page is the first watcher's alarm
 * in ALARM; the start (auto) is the runner's, then the trigger. No majority: no page, no start.
 */
export function detect(
  world: DrillWorld,
  region: string,
  runner: string,
  auto: boolean,
  spec?: AlarmSpec,
) {
  const failedAt = world.now();
  const majority = spec ?? MAJORITY_ALARM_FALLBACK;
  const watchers = world.config.watchers?.[region] ?? [];
  const firesAt = (w: string) =>
    alarmFiresAt(
      majority,
      world.watchersDown.get(`${region}|${w}`) ?? [],
      DETECTION.probeTimeoutMs,
    );
  const until = (done: () => number | undefined) => {
    for (let i = 0; i < 30; i++) {
      const t = done();
      if (t !== undefined) return t;
      world.advance(world.nextDueRound() - world.now());
    }
    return undefined;
  };
  const page = until(() => {
    const times = watchers.map(firesAt).filter((t): t is number => t !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  });
  if (page === undefined) return { failedAt, page: undefined, start: undefined };
  const started = auto ? until(() => firesAt(runner)) : undefined;
  const start = started === undefined ? undefined : started + TIMINGS.alarmToStart.ms;
  world.advance(Math.max(0, Math.max(page, start ?? page) - world.now()));
  return {
    failedAt,
    page: (page - failedAt) / 1000,
    start: start === undefined ? undefined : (start - failedAt) / 1000,
  };
}

/** The majority alarm as RegionWatch builds it, for worlds without a template at hand. */
const MAJORITY_ALARM_FALLBACK: AlarmSpec = {
  metricName: 'WatchersDown',
  period: DETECTION.probeSeconds,
  evaluationPeriods: 1,
  datapointsToAlarm: 1,
  threshold: 2,
  comparison: 'GreaterThanOrEqualToThreshold',
  treatMissingData: 'missing',
};

/** The majority alarm about the cell's writer, as the runner's template defines it. */
function majorityAlarm(ctx: Context): AlarmSpec | undefined {
  const rb = ctx.runbook(ctx.peer);
  return rb.alarms.get(`${rb.config.prefix}-${ctx.writer}-critical-watchers`);
}

/** The stream's loss at the first promotion (the failover), when there was one. */
const lostOf = (world: DrillWorld) => {
  const first = world.losses[0];
  return first ? { lost: { seconds: first.seconds, writes: first.writes } } : {};
};

const rpoOf = (r: DrillResult) =>
  (r.output?.report as { rpoSeconds?: number | null } | undefined)?.rpoSeconds;

function startsByItself(ctx: Context): boolean {
  return ctx.config.global.jurisdictions[ctx.jurisdiction]?.failover?.start === 'auto';
}

/** Runs `f` with a fresh world for the cell, always restoring the SDK and clock. */
/** The world of a scenario: the peer's runbook config, the writer's health check (its template). */
export function worldOf(ctx: Context, options: DrillWorldOptions = {}): DrillWorld {
  const routing = ctx.runbook(ctx.writer).healthCheck;
  return new DrillWorld(ctx.runbook(ctx.peer).config, {
    ...(routing ? { routing } : {}),
    ...options,
  });
}

/**
 * When writes were accepted again after the writer failed at `failedAt`: by its clients (the
 * world's model of Route 53 and the database) and, separately, when the peer was promoted.
 */
export function writesAccepted(
  world: DrillWorld,
  ctx: Pick<Context, 'writer' | 'peer'>,
  failedAt: number,
): { writesAcceptedSeconds?: number; promotedSeconds?: number } {
  const promoted = world.writerSince.get(ctx.peer);
  const clients = world.clientsWriteAgain(ctx.writer, failedAt);
  const accepted = world.options.routing ? clients?.at : promoted;
  return {
    ...(accepted !== undefined ? { writesAcceptedSeconds: (accepted - failedAt) / 1000 } : {}),
    ...(promoted !== undefined ? { promotedSeconds: (promoted - failedAt) / 1000 } : {}),
  };
}

async function inWorld<T>(ctx: Context, f: (w: DrillWorld) => Promise<T>): Promise<T> {
  const world = worldOf(ctx);
  try {
    return await f(world);
  } finally {
    world.restore();
  }
}

export const SCENARIOS: Readonly<Record<string, Scenario>> = {
  'primary-dies': {
    summary: 'the cell writer fails wholly; detection pages, the runbook promotes its peer',
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.fail(ctx.writer);
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        const input = {
          cell: ctx.jurisdiction,
          failedRegion: ctx.writer,
          mode: 'auto',
          detectedAt: d.failedAt + (d.page ?? 0) * 1000,
        };
        const r = await execute(ctx, world, ctx.peer, input, 'primary-dies');
        return {
          pageSeconds: d.page,
          ...(d.start !== undefined ? { startSeconds: d.start } : {}),
          ...writesAccepted(world, ctx, d.failedAt),
          rpoSeconds: rpoOf(r),
          ...lostOf(world),
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { 'primary-dies': outcome(r) },
          changes: world.calls,
        };
      }),
  },
  throttled: {
    summary: `the cell writer fails wholly while other tooling exhausts Route 53's API and the peer's RDS API for ${STORM_SECONDS} s from the start: the steps meet the services' throttling errors, retry as their Retry policies say, and fail over`,
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.fail(ctx.writer);
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        const until = world.now() + STORM_SECONDS * 1000;
        world.storm('route53', 'us-east-1', until);
        world.storm('rds', ctx.peer, until);
        const input = { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' };
        const r = await execute(ctx, world, ctx.peer, input, 'throttled');
        return {
          pageSeconds: d.page,
          ...(d.start !== undefined ? { startSeconds: d.start } : {}),
          ...writesAccepted(world, ctx, d.failedAt),
          rpoSeconds: rpoOf(r),
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { throttled: outcome(r) },
          changes: world.calls,
          throttledCalls: world.throttled,
        };
      }),
  },
  partition: {
    summary:
      'the writer and its peer cannot reach each other, both alive; each sees the other down and runs its runbook',
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        const others = ctx.config.regions.map((r) => r.id).filter((r) => r !== ctx.writer);
        world.partition([ctx.writer], [...others, 'us-east-2', 'eu-west-2', 'ap-northeast-2']);
        world.region(ctx.writer).alarms = [
          `${world.config.prefix}-${ctx.writer}-critical-endpoint`,
        ];
        world.region(ctx.peer).alarms = [`${world.config.prefix}-${ctx.peer}-critical-endpoint`];
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        const [a, b] = await Promise.all([
          execute(
            ctx,
            world,
            ctx.peer,
            { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' },
            'from-peer',
          ),
          execute(
            ctx,
            world,
            ctx.writer,
            { cell: ctx.jurisdiction, failedRegion: ctx.peer, mode: 'auto' },
            'from-writer',
          ),
        ]);
        return {
          pageSeconds: d.page,
          ...(d.start !== undefined ? { startSeconds: d.start } : {}),
          ...writesAccepted(world, ctx, d.failedAt),
          rpoSeconds: rpoOf(a),
          ...lostOf(world),
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { 'from-peer': outcome(a), 'from-writer': outcome(b) },
          changes: world.calls,
        };
      }),
  },
  'stale-execution': {
    summary:
      'an execution stalls on its way to roll back past its lease; another fails the cell over; the first resumes',
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.fail(ctx.writer);
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        let reached: () => void = () => undefined;
        let resume: () => void = () => undefined;
        const atRollback = new Promise<void>((r) => {
          reached = r;
        });
        const resumed = new Promise<void>((r) => {
          resume = r;
        });
        const input = { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' };
        const stale = execute(ctx, world, ctx.peer, input, 'stale', {
          before: {
            'Verify target': async () => {
              world.region(ctx.peer).up = false;
            },
            'Roll back': async () => {
              reached();
              await resumed;
            },
          },
        });
        await atRollback;
        world.region(ctx.peer).up = true;
        world.advance((world.config.leaseSeconds + 1) * 1000);
        const fresh = await execute(ctx, world, ctx.peer, input, 'fresh');
        resume();
        const s = await stale;
        return {
          pageSeconds: d.page,
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { stale: outcome(s), fresh: outcome(fresh) },
          changes: world.calls,
        };
      }),
  },
  'slow-promotion': {
    summary: `the lease is the shortest regions/ allows (${MIN_LEASE_SECONDS} s) and Aurora's promotion is awaited over many attempts, each renewing it; a second execution tries to take over meanwhile`,
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.fail(ctx.writer);
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        const input = { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' };
        let intruder: DrillResult | undefined;
        const r = await execute(ctx, world, ctx.peer, input, 'slow', {
          before: {
            'Promote cache': async () => {
              intruder ??= await execute(ctx, world, ctx.peer, input, 'intruder');
            },
          },
        });
        return {
          pageSeconds: d.page,
          ...writesAccepted(world, ctx, d.failedAt),
          rpoSeconds: rpoOf(r),
          ...lostOf(world),
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { slow: outcome(r), intruder: intruder ? outcome(intruder) : 'never ran' },
          changes: world.calls,
        };
      }),
  },
  'failover-failback': {
    summary:
      'the writer fails, its peer takes over; the writer comes back and, once approved, takes its role back',
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.fail(ctx.writer);
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        const input = { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' };
        const fo = await execute(ctx, world, ctx.peer, input, 'failover');
        // The peer takes search writes while it leads; the writer comes back with a stale copy.
        world.searchWrite(ctx.peer, 'pii-2024', 'taken-while-peer-led');
        const search: Record<string, Record<string, readonly string[]>> = {
          'after failover': world.searchIndices(),
        };
        world.recover(ctx.writer);
        const fb = await execute(
          ctx,
          world,
          ctx.peer,
          { cell: ctx.jurisdiction, originalRegion: ctx.writer, currentRegion: ctx.peer },
          'failback',
          {
            machine: 'failback',
            before: {
              'Switch back Aurora': async () => {
                search['before the switch back'] = world.searchIndices();
              },
            },
          },
        );
        search['after failback'] = world.searchIndices();
        return {
          pageSeconds: d.page,
          ...writesAccepted(world, ctx, d.failedAt),
          rpoSeconds: rpoOf(fo),
          ...lostOf(world),
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { failover: outcome(fo), failback: outcome(fb) },
          changes: world.calls,
          search,
        };
      }),
  },
  'takeover-cut-off': {
    summary:
      "the region that would take over is cut off from the writer and from Route 53's API (us-east-1); the writer's other watchers still see it: no page, no failover, the writer keeps writing",
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.partition([ctx.peer], [ctx.writer, 'us-east-1']);
        // The peer's own view: its signal alarm about the writer fires.
        world.region(ctx.writer).alarms = [
          `${world.config.prefix}-${ctx.writer}-critical-endpoint`,
        ];
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        // Started anyway (by hand, or by a trigger that fired on a stale alarm): Verify counts again.
        const input = { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' };
        const r = await execute(ctx, world, ctx.peer, input, 'takeover-cut-off');
        return {
          ...(d.page !== undefined ? { pageSeconds: d.page } : {}),
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { 'takeover-cut-off': outcome(r) },
          changes: world.calls,
          acceptingWrites: world.acceptingWrites(),
        };
      }),
  },
  'no-target': {
    summary:
      'the writer fails and its peer is unhealthy too: manual intervention, nothing promoted, never another jurisdiction',
    run: (ctx) =>
      inWorld(ctx, async (world) => {
        world.fail(ctx.writer);
        world.fail(ctx.peer, { wholly: false });
        const d = detect(world, ctx.writer, ctx.peer, startsByItself(ctx), majorityAlarm(ctx));
        const input = { cell: ctx.jurisdiction, failedRegion: ctx.writer, mode: 'auto' };
        const r = await execute(ctx, world, ctx.peer, input, 'no-target');
        return {
          pageSeconds: d.page,
          splitBrain: world.splitBrain,
          staleActions: world.actionsWithoutToken,
          outcomes: { 'no-target': outcome(r) },
          changes: world.calls,
        };
      }),
  },
};

/**
 * Runs a scenario on the first cell of `config` with two or more regions (or the cell of
 * `region`, its writer being the cell's first region by failover priority).
 */
export async function runScenario(
  config: MeridianConfig,
  name: string,
  o: {
    readonly region?: string;
    readonly load?: Context['load'];
    readonly runbooks?: Context['runbook'];
  } = {},
): Promise<ScenarioResult> {
  const scenario = SCENARIOS[name];
  if (!scenario) throw new Error(`no scenario ${name}`);
  const cells = new Map<string, string[]>();
  for (const r of [...config.regions].sort((a, b) => a.failoverPriority - b.failoverPriority))
    cells.set(r.jurisdiction, [...(cells.get(r.jurisdiction) ?? []), r.id]);
  const jurisdiction = o.region
    ? config.regions.find((r) => r.id === o.region)?.jurisdiction
    : [...cells].find(([, rs]) => rs.length > 1)?.[0];
  const members = jurisdiction ? (cells.get(jurisdiction) ?? []) : [];
  const writer = members[0];
  if (!jurisdiction || !writer || members.length < 2)
    throw new Error('a scenario needs a cell of two or more regions');
  const runbook = o.runbooks ?? synthesizedRunbooks(config);
  const ctx: Context = {
    config,
    runbook: (region, machine) => {
      const rb = runbook(region, machine);
      // slow-promotion: the shortest lease regions/ allows, so promotion outlasts it.
      if (name !== 'slow-promotion') return rb;
      const lease = (env: Record<string, string>) => {
        const c = JSON.parse(env.MERIDIAN_RUNBOOK ?? '{}') as { leaseSeconds: number };
        return {
          ...env,
          MERIDIAN_RUNBOOK: JSON.stringify({ ...c, leaseSeconds: MIN_LEASE_SECONDS }),
        };
      };
      return {
        ...rb,
        config: { ...rb.config, leaseSeconds: MIN_LEASE_SECONDS },
        tasks: new Map([...rb.tasks].map(([k, t]) => [k, { ...t, env: lease(t.env) }])),
      };
    },
    writer,
    peer: runnerRegion(config, writer),
    jurisdiction,
    ...(o.load ? { load: o.load } : {}),
  };
  return { name, summary: scenario.summary, ...(await scenario.run(ctx)) };
}
