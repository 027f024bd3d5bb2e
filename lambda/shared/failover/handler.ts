/**
 * What every runbook step function shares: its configuration, read and checked once at cold
 * start, the SDK clients its step uses, created once per container and traced, and its Powertools
 * Logger and Metrics, and the call tracer. Each step's `index.ts` names only the clients it needs, so its bundle
 * carries only those SDKs. Retries within a call are the SDK's; retries of a step are the state
 * machine's.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type CallTracer, powertools, traceClient, tracedHandler } from '../powertools';
import { type RunbookConfig, readRunbookConfig } from './config';
import type { Clients, RunbookState } from './steps';

/** CloudWatch namespace of the steps' metrics (StepSucceeded, StepFailed, StepDuration). */
export const RUNBOOK_NAMESPACE = 'Meridian/Runbook';

export { perRegion } from '../per-region';

/** The SDK clients a step uses, built from its configuration. */
export type ClientFactory = (config: RunbookConfig) => Partial<Clients>;

/** SDK options every step client uses: three attempts with the SDK's backoff. */
export const CLIENT_OPTIONS = { maxAttempts: 3 } as const;

const SHARED = ['route53', 's3', 'secrets', 'sts'] as const;
const PER_REGION = [
  'dynamodb',
  'rds',
  'elasticache',
  'cloudwatch',
  'opensearch',
  'lambda',
] as const;

/** The step's clients with every SDK call reported (per-region clients too). */
function traced(tracer: CallTracer, partial: Partial<Clients>): Partial<Clients> {
  const out: Record<string, unknown> = { ...partial };
  for (const name of SHARED) {
    const client = partial[name];
    if (client) out[name] = traceClient(tracer, client);
  }
  for (const name of PER_REGION) {
    const make = partial[name] as Clients['rds'] | undefined;
    if (make) out[name] = (region: string) => traceClient(tracer, make(region));
  }
  return out as Partial<Clients>;
}

/** A Clients whose missing members fail loudly (a step asked for a client it did not declare). */
function complete(partial: Partial<Clients>): Clients {
  const base: Partial<Clients> = {
    fetch: (...args) => fetch(...args),
    now: () => Date.now(),
    ...partial,
  };
  return new Proxy(base, {
    get(target, prop) {
      const v = target[prop as keyof Clients];
      if (v === undefined)
        throw new Error(`runbook step uses the ${String(prop)} client but did not declare it`);
      return v;
    },
  }) as Clients;
}

/**
 * A step's Lambda handler: `(state) => result`. The configuration is checked at cold start (a bad
 * one fails the container's first load) and reused per distinct MERIDIAN_RUNBOOK: in Lambda the
 * environment never changes, and the offline drill runs several regions' runbooks in one process.
 * Each run logs one line (`step done` or `step failed`) with the execution's ids, and publishes
 * StepSucceeded or StepFailed and StepDuration (dimension Region); the operator's free-text reason
 * and the step's result are not logged.
 */
export function stepHandler<R>(
  step: (config: RunbookConfig, clients: Clients, state: RunbookState) => R | Promise<R>,
  clients: ClientFactory = () => ({}),
): (state: RunbookState) => Promise<R> {
  // Per step: each step declares its own clients and has its own service name.
  const { logger, metrics, tracer } = powertools(
    RUNBOOK_NAMESPACE,
    process.env.POWERTOOLS_SERVICE_NAME ?? 'runbook-step',
  );
  const configured = new Map<string, { config: RunbookConfig; clients: Clients }>();
  const current = () => {
    const raw = process.env.MERIDIAN_RUNBOOK ?? '';
    let c = configured.get(raw);
    if (!c) {
      const config = readRunbookConfig(process.env);
      c = { config, clients: complete(traced(tracer, clients(config))) };
      configured.set(raw, c);
    }
    return c;
  };
  if (process.env.MERIDIAN_RUNBOOK !== undefined) current();
  return tracedHandler(tracer, async (state) => {
    const { config, clients: k } = current();
    const started = Date.now();
    const ids = {
      execution: state.execution,
      cell: state.input?.cell,
      failedRegion: state.input?.failedRegion,
      mode: state.input?.mode,
    };
    // Per invocation (cleared when published): several runbooks of one drill share this module.
    metrics.addDimension('Region', config.region);
    try {
      const result = await step(config, k, state);
      metrics.addMetric('StepSucceeded', MetricUnit.Count, 1);
      logger.info('step done', { ...ids, ms: Date.now() - started });
      return result;
    } catch (err) {
      metrics.addMetric('StepFailed', MetricUnit.Count, 1);
      logger.error('step failed', {
        ...ids,
        ms: Date.now() - started,
        error: { name: (err as Error).name, message: (err as Error).message },
      });
      throw err;
    } finally {
      metrics.addMetric('StepDuration', MetricUnit.Milliseconds, Date.now() - started);
      metrics.publishStoredMetrics();
    }
  });
}
