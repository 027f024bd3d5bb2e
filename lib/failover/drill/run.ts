/**
 * Runs the failover state machine taken from a synthesized template, offline: the definition
 * (ASL) comes from the template, every Task runs the real handler of its step, with the
 * environment the template gives that function, against the drill world's fakes.
 * aws-local-stepfunctions executes it. Dev and test support: never deployed.
 */
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template as CdkTemplate } from 'aws-cdk-lib/assertions';
import { ExecutionError, StateMachine } from 'aws-local-stepfunctions';
import type { RunbookConfig } from '../../../lambda/shared/failover/config';
import { buildMeridian, cdkContext } from '../../app';
import type { MeridianConfig } from '../../config/load';
import { LAMBDA_DIR } from '../../functions/bundle';
import { runnerRegion } from '../runner';
import { drillContext } from './context';
import { TIMINGS } from './timings';

// aws-local-stepfunctions needs Promise.withResolvers (Node 22); polyfill it on Node 20.
const P = Promise as unknown as { withResolvers?: () => unknown };
P.withResolvers ??= () => {
  let resolve: unknown;
  let reject: unknown;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
};

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };
interface TemplateResource {
  Type: string;
  Properties?: Record<string, unknown>;
}
export interface Template {
  Resources?: Record<string, TemplateResource>;
}

export interface SynthesizedRunbook {
  readonly region: string;
  readonly stateMachine: string;
  readonly definition: {
    States: Record<string, Record<string, unknown>>;
    StartAt: string;
    TimeoutSeconds?: number;
  };
  /** Task state name → handler folder and its environment. */
  readonly tasks: ReadonlyMap<string, { handler: string; env: Record<string, string> }>;
  /** SNS publish states (recorded as notifications). */
  readonly notifications: ReadonlySet<string>;
  /** Wait states: the drill does not sleep through them. */
  readonly waits: ReadonlySet<string>;
  /** Every state of the definition, Parallel branches included, by name. */
  readonly states: ReadonlyMap<string, Record<string, unknown>>;
  readonly config: RunbookConfig;
  /** The metric alarms the region's template defines, by name (the drill evaluates them). */
  readonly alarms: ReadonlyMap<string, AlarmSpec>;
  /** Functions with a physical name (another region invokes them by it): handler and environment. */
  readonly named: ReadonlyMap<string, { handler: string; env: Record<string, string> }>;
  /** The region's endpoint health check as its template sets it (Route 53's judgement). */
  readonly healthCheck?: { readonly intervalSeconds: number; readonly failureThreshold: number };
}

/** What CloudWatch evaluates of a metric alarm, as the template sets it. */
export interface AlarmSpec {
  readonly metricName: string;
  readonly period: number;
  readonly evaluationPeriods: number;
  readonly datapointsToAlarm: number;
  readonly threshold: number;
  readonly comparison: string;
  readonly treatMissingData: string;
}

/** Resolves the intrinsics a template uses for the runbook to drill-world values. */
function resolver(region: string, account: string, resources: Record<string, TemplateResource>) {
  const arnOf = (id: string) => {
    const type = resources[id]?.Type ?? '';
    if (type === 'AWS::SecretsManager::Secret')
      return `arn:aws:secretsmanager:${region}:${account}:secret:${id}`;
    if (type === 'AWS::SNS::Topic') return `arn:aws:sns:${region}:${account}:${id}`;
    // A bucket's name: the one its template gives, else one in lower case as CloudFormation
    // generates them, and its region's own (a construct has one logical id in every stack).
    if (type === 'AWS::S3::Bucket') {
      const name = resources[id]?.Properties?.BucketName;
      return name === undefined ? `${region}-${id}`.toLowerCase() : resolve(name);
    }
    if (type === 'AWS::Lambda::Function')
      return `arn:aws:lambda:${region}:${account}:function:${id}`;
    return id;
  };
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': region,
    'AWS::AccountId': account,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const resolve = (v: unknown): string => {
    if (typeof v === 'string') return v;
    if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (Array.isArray(o['Fn::Join'])) {
        const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
        return parts.map(resolve).join(sep);
      }
      if (typeof o.Ref === 'string') return pseudo[o.Ref] ?? arnOf(o.Ref);
      if (Array.isArray(o['Fn::GetAtt'])) return arnOf(String((o['Fn::GetAtt'] as unknown[])[0]));
    }
    throw new Error(`drill: cannot resolve ${JSON.stringify(v)}`);
  };
  return resolve;
}

/** The state machines of a regional template the drill can run, by their logical id's start. */
export const MACHINES = {
  failover: 'FailoverStateMachine',
  failback: 'FailoverFailback',
  'subject-requests': 'SubjectRequestMachineStateMachine',
} as const;
export type Machine = keyof typeof MACHINES;

/** Finds a state machine (failover, failback, subject requests) in a regional template and what its Tasks run. */
export function runbookFromTemplate(
  template: Template,
  region: string,
  account: string,
  machine: Machine = 'failover',
): SynthesizedRunbook {
  const resources = template.Resources ?? {};
  const resolve = resolver(region, account, resources);
  const [smId, sm] =
    Object.entries(resources).find(
      ([id, r]) =>
        r.Type === 'AWS::StepFunctions::StateMachine' && id.startsWith(MACHINES[machine]),
    ) ?? [];
  if (!smId || !sm) throw new Error(`drill: no ${machine} state machine in the ${region} template`);
  const definition = JSON.parse(
    resolve(sm.Properties?.DefinitionString),
  ) as SynthesizedRunbook['definition'];

  const tasks = new Map<string, { handler: string; env: Record<string, string> }>();
  const notifications = new Set<string>();
  const waits = new Set<string>();
  const all = new Map<string, Record<string, unknown>>();
  const walk = (states: Record<string, Record<string, unknown>>) => {
    for (const [name, s] of Object.entries(states)) {
      all.set(name, s);
      if (s.Type === 'Parallel')
        for (const b of s.Branches as { States: Record<string, Record<string, unknown>> }[])
          walk(b.States);
      if (s.Type === 'Wait') waits.add(name);
      if (s.Type !== 'Task') continue;
      const resource = String(s.Resource);
      if (resource.startsWith('arn:aws:states:::sns:publish')) {
        notifications.add(name);
        continue;
      }
      const fnId = /function:([A-Za-z0-9]+)$/.exec(resource)?.[1];
      const fn = fnId ? resources[fnId] : undefined;
      if (!fn)
        throw new Error(`drill: Task ${name} runs ${resource}, not a function of the template`);
      const vars =
        (fn.Properties?.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
      const env = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolve(v)]));
      tasks.set(name, { handler: env.POWERTOOLS_SERVICE_NAME ?? '', env });
    }
  };
  walk(definition.States);
  const anyTask = tasks.values().next().value;
  if (!anyTask) throw new Error('drill: the state machine runs no function');
  const alarms = new Map<string, AlarmSpec>();
  for (const r of Object.values(resources)) {
    const p = r.Properties ?? {};
    if (r.Type !== 'AWS::CloudWatch::Alarm' || typeof p.AlarmName !== 'string') continue;
    alarms.set(p.AlarmName, {
      metricName: String(p.MetricName),
      period: Number(p.Period),
      evaluationPeriods: Number(p.EvaluationPeriods),
      datapointsToAlarm: Number(p.DatapointsToAlarm ?? p.EvaluationPeriods),
      threshold: Number(p.Threshold),
      comparison: String(p.ComparisonOperator),
      treatMissingData: String(p.TreatMissingData ?? 'missing'),
    });
  }
  const named = new Map<string, { handler: string; env: Record<string, string> }>();
  for (const r of Object.values(resources)) {
    const p = r.Properties ?? {};
    if (r.Type !== 'AWS::Lambda::Function' || typeof p.FunctionName !== 'string') continue;
    const vars = (p.Environment as { Variables?: Record<string, unknown> })?.Variables ?? {};
    const env = Object.fromEntries(Object.entries(vars).map(([k, v]) => [k, resolve(v)]));
    named.set(p.FunctionName, { handler: env.POWERTOOLS_SERVICE_NAME ?? '', env });
  }
  const check = Object.values(resources)
    .map((r) => r.Properties?.HealthCheckConfig as Record<string, unknown> | undefined)
    .find((c) => c && typeof c.RequestInterval === 'number');
  return {
    alarms,
    named,
    ...(check
      ? {
          healthCheck: {
            intervalSeconds: Number(check.RequestInterval),
            failureThreshold: Number(check.FailureThreshold ?? 3),
          },
        }
      : {}),
    region,
    stateMachine: smId,
    definition,
    tasks,
    notifications,
    waits,
    states: all,
    config: JSON.parse(anyTask.env.MERIDIAN_RUNBOOK ?? '{}') as RunbookConfig,
  };
}

export interface DrillEvent {
  readonly state: string;
  readonly type: 'entered' | 'exited' | 'failed' | 'retried' | 'caught';
  readonly at: number;
}

export interface DrillResult {
  readonly status: 'SUCCEEDED' | 'FAILED';
  readonly output?: Record<string, unknown>;
  readonly error?: string;
  /** The error's name (a Fail state's Error, or a task error's name). */
  readonly errorName?: string;
  readonly cause?: string;
  readonly events: readonly DrillEvent[];
  readonly startedAt: number;
  readonly endedAt: number;
}

export interface DrillOptions {
  readonly name: string;
  /**
   * Loads a Task state's handler module, when the state first runs with its environment set
   * (tests pass one that isolates modules). @default require
   */
  readonly load?: (
    file: string,
    state?: string,
  ) => { handler: (input: unknown) => Promise<unknown> };
  /** Runs before a Task state's handler (e.g. to pause an execution). */
  readonly before?: Readonly<Record<string, () => Promise<void>>>;
  /**
   * Records SNS notifications. For a notification that waits for a task token (an approval), its
   * return value is the task's result, and an error it throws (with a `name`) is the task's error.
   */
  readonly notify: (state: string, message: unknown) => unknown;
  /**
   * The world's virtual clock. Each Task adds a step's modelled Lambda time; a retry adds the
   * backoff the synthesized Retry policy gives; a Wait adds its seconds.
   * @default - no modelled time (wall time only)
   */
  readonly clock?: { advance(ms: number): void };
}

interface Retrier {
  readonly ErrorEquals: readonly string[];
  readonly IntervalSeconds?: number;
  readonly BackoffRate?: number;
  readonly MaxAttempts?: number;
  readonly MaxDelaySeconds?: number;
}

/** The delay before retry number `attempt` (0-based) of a retrier, without jitter (its mean is lower). */
export function retryDelayMs(r: Retrier, attempt: number): number | undefined {
  if (attempt >= (r.MaxAttempts ?? 3)) return undefined;
  const delay = (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** attempt;
  return Math.min(delay, r.MaxDelaySeconds ?? Number.POSITIVE_INFINITY) * 1000;
}

const defaultLoad = (file: string) => {
  delete require.cache[require.resolve(file)];
  return require(file) as { handler: (input: unknown) => Promise<unknown> };
};

/**
 * The runbook's named functions bound to their handlers, each run as Lambda would run it in the
 * runbook's region: its environment, the execution it acts for, a step's modelled time.
 */
export function namedFunctions(
  rb: SynthesizedRunbook,
  load: NonNullable<DrillOptions['load']> = defaultLoad,
  clock?: DrillOptions['clock'],
): Map<string, (payload: unknown) => Promise<unknown>> {
  return new Map(
    [...rb.named].map(([name, t]) => {
      // Loaded when first invoked, with its environment set, as Lambda would: a named function
      // no step calls (the data-subject function) is never loaded, and one that checks its
      // environment at start sees its own.
      let mod: ReturnType<typeof load> | undefined;
      const run = (payload: unknown) =>
        drillContext.run(
          { region: rb.region, execution: String((payload as { execution?: unknown }).execution) },
          async () => {
            clock?.advance(TIMINGS.lambdaStep.ms);
            Object.assign(process.env, t.env);
            mod ??= load(path.join(LAMBDA_DIR, t.handler, 'index.ts'));
            return mod.handler(payload);
          },
        );
      return [name, run];
    }),
  );
}

/** Executes the runbook once, each Task bound to its real handler. */
export async function runDrill(
  rb: SynthesizedRunbook,
  input: Json,
  o: DrillOptions,
): Promise<DrillResult> {
  const load = o.load ?? defaultLoad;
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  const retry: Record<string, number> = {};
  const saved = { ...process.env };
  // Wait state → the state before it and its seconds: the clock moves when the next task runs.
  const waitsAfter = new Map<string, number>();
  for (const [name, st] of rb.states)
    if (st.Type === 'Wait' && typeof st.Seconds === 'number')
      for (const [prev, ps] of rb.states)
        if (ps.Next === name) waitsAfter.set(`${prev}→${String(st.Next)}`, st.Seconds * 1000);
  const attempts = new Map<string, number>();
  let last = '';
  for (const [state, t] of rb.tasks) {
    // Loaded on first run with its environment set, as Lambda would (a handler may check it at start).
    let mod: ReturnType<typeof load> | undefined;
    const retriers = (rb.states.get(state)?.Retry ?? []) as Retrier[];
    handlers[state] = (payload) =>
      drillContext.run({ region: rb.region, execution: o.name }, async () => {
        o.clock?.advance(waitsAfter.get(`${last}→${state}`) ?? 0);
        last = state;
        await o.before?.[state]?.();
        o.clock?.advance(TIMINGS.lambdaStep.ms);
        // Each runbook's steps have its environment; several runbooks may run at once.
        Object.assign(process.env, t.env);
        try {
          mod ??= load(path.join(LAMBDA_DIR, t.handler, 'index.ts'), state);
          const out = (await mod.handler(payload)) as Json;
          attempts.delete(state);
          return out;
        } catch (err) {
          const name = (err as Error).name;
          const n = attempts.get(state) ?? 0;
          const r = retriers.find(
            (x) => x.ErrorEquals.includes(name) || x.ErrorEquals.includes('States.ALL'),
          );
          const delay = r ? retryDelayMs(r, n) : undefined;
          if (delay !== undefined) {
            o.clock?.advance(delay);
            attempts.set(state, n + 1);
          } else attempts.delete(state);
          throw err;
        }
      });
    retry[state] = 0;
  }
  for (const state of rb.notifications)
    handlers[state] = async (payload) => {
      const answer = await o.notify(state, payload);
      return (answer ?? { MessageId: `drill-${state}` }) as Json;
    };
  // Node's timers hold at most 2^31-1 ms (~24.8 days): a longer execution timeout (a subject
  // request's deadline) would fire at once, so the drill runs without it.
  const definition =
    Number(rb.definition.TimeoutSeconds ?? 0) * 1000 > 2 ** 31 - 1
      ? { ...rb.definition, TimeoutSeconds: undefined }
      : rb.definition;
  const machine = new StateMachine(definition as never, {
    validationOptions: { checkArn: false, checkPaths: false },
  });
  const startedAt = Date.now();
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: handlers,
      retryIntervalOverrides: retry,
      waitTimeOverrides: Object.fromEntries([...rb.waits].map((w) => [w, 0])),
    },
    context: {
      Execution: {
        Id: `arn:aws:states:${rb.region}:${rb.config.account}:execution:${rb.config.prefix}-${rb.region}-failover:${o.name}`,
        Name: o.name,
        Input: input as never,
        StartTime: new Date(startedAt).toISOString(),
        RoleArn: 'arn:aws:iam::000000000000:role/drill',
      },
      Task: { Token: `drill-task-token-${o.name}` },
    } as never,
  });
  const events: DrillEvent[] = [];
  const restoreEnv = () => {
    process.env = saved;
  };
  const collecting = (async () => {
    for await (const e of execution.eventLogs) {
      const ev = e as { type: string; state?: { name: string }; timestamp: number };
      const type = (
        {
          StateEntered: 'entered',
          StateExited: 'exited',
          StateFailed: 'failed',
          StateRetried: 'retried',
          StateCaught: 'caught',
        } as const
      )[ev.type as 'StateEntered'];
      if (type && ev.state) events.push({ state: ev.state.name, type, at: ev.timestamp });
    }
  })();
  try {
    const output = (await execution.result) as Record<string, unknown>;
    await collecting;
    restoreEnv();
    return { status: 'SUCCEEDED', output, events, startedAt, endedAt: Date.now() };
  } catch (err) {
    await collecting.catch(() => undefined);
    restoreEnv();
    if (!(err instanceof ExecutionError)) throw err;
    const e = err as ExecutionError & { cause?: unknown };
    return {
      status: 'FAILED',
      error: e.message,
      errorName: String((e as { cause?: { name?: string } }).cause?.name ?? e.name),
      cause: String((e as { cause?: { message?: string } }).cause?.message ?? e.message),
      events,
      startedAt,
      endedAt: Date.now(),
    };
  }
}

/**
 * Synthesizes the regional stacks in-process once and returns a function giving any region's
 * runbook (failover or failback), as the drill, the game-day scenarios and the bench execute them.
 */
export function synthesizedRunbooks(
  config: MeridianConfig,
): (region: string, machine?: Machine) => SynthesizedRunbook {
  const stacks = buildMeridian(new App({ context: cdkContext() }), config, { compliance: false });
  const made = new Map<string, SynthesizedRunbook>();
  return (region, machine = 'failover') => {
    const key = `${region}/${machine}`;
    let rb = made.get(key);
    if (!rb) {
      const stack = stacks.find((s) => s.region === region);
      if (!stack) throw new Error(`drill: no stack for ${region}`);
      const template = CdkTemplate.fromStack(stack).toJSON() as never;
      rb = runbookFromTemplate(template, region, stack.account, machine);
      made.set(key, rb);
    }
    return rb;
  };
}

/** The runbook of the region that would handle a failure of `failed` (its runner). */
export function runbookFor(
  config: MeridianConfig,
  failed: string,
  machine: 'failover' | 'failback' = 'failover',
): SynthesizedRunbook {
  return synthesizedRunbooks(config)(runnerRegion(config, failed), machine);
}
