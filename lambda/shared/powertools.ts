/**
 * Powertools for one function, created once at module scope: Logger and Metrics named by the
 * function (MeridianFunction sets POWERTOOLS_SERVICE_NAME to the handler folder), and a light call
 * tracer in place of Powertools Tracer.
 *
 * Why not Powertools Tracer (issue 26): it brings the X-Ray SDK (aws-xray-sdk-core, semver,
 * cls-hooked: about 115 KiB minified and 15-20 ms of every cold start) into every bundle, for one
 * subsegment per AWS call. Lambda's active tracing still records every invocation as an X-Ray
 * segment (initialization, invocation, overhead), the SDK still passes the trace header on, and
 * what the subsegments told (which AWS call was slow or failed, after how many attempts) is now one
 * structured log line per call: at DEBUG for every call (POWERTOOLS_LOG_LEVEL=DEBUG), at WARN for a
 * call slower than `slowMs` or one that failed. A line names the client, the operation, the time,
 * the attempts and the HTTP status or error name: never the call's input or output, which can hold
 * record values.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';

/** Where AWS calls are reported, and from which duration a call counts as slow. */
export interface CallTracer {
  readonly logger: Logger;
  /** @default DEFAULT_SLOW_CALL_MS */
  readonly slowMs?: number;
}

/** A call slower than this is logged at WARN: the SDK's own timeouts are seconds long. */
export const DEFAULT_SLOW_CALL_MS = 1000;

export interface Powertools {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: CallTracer;
}

/** Logger and call tracer of the service `serviceName`, for a function that publishes no metrics. */
export function logs(serviceName: string): Omit<Powertools, 'metrics'> {
  const logger = new Logger({ serviceName });
  return { logger, tracer: { logger } };
}

/** Logger, Metrics (CloudWatch namespace `namespace`) and call tracer of the service `serviceName`. */
export function powertools(namespace: string, serviceName: string): Powertools {
  return { ...logs(serviceName), metrics: new Metrics({ namespace, serviceName }) };
}

/** An AWS SDK v3 client (anything with a middleware stack). */
interface SdkClient {
  readonly middlewareStack: unknown;
  send(...args: never[]): unknown;
}

/** The part of the SDK's middleware stack the tracer uses, typed as loosely as it is used. */
interface InitializeStack {
  add(
    middleware: (
      next: (args: unknown) => Promise<unknown>,
      context: { clientName?: string; commandName?: string },
    ) => (args: unknown) => Promise<unknown>,
    options: { step: 'initialize'; name: string; override: boolean },
  ): void;
}

/** What the SDK reports of a call's transport, on its output or on its error. */
interface Metadata {
  readonly $metadata?: { readonly attempts?: number; readonly httpStatusCode?: number };
}

const captured = new WeakSet<object>();

/**
 * `client`, each of its calls (retries included) reported by `tracer`; capturing the same client
 * again is a no-op. The report is taken around the whole call, so its time is what the handler
 * waited.
 */
export function traceClient<C extends SdkClient>(tracer: CallTracer, client: C): C {
  if (captured.has(client)) return client;
  captured.add(client);
  const slowMs = tracer.slowMs ?? DEFAULT_SLOW_CALL_MS;
  (client.middlewareStack as InitializeStack).add(
    (next, context) => async (args) => {
      const started = performance.now();
      /** The call's line: who, what, how long, and what the SDK says of its transport. */
      const line = (meta: Metadata['$metadata'], error?: string) => ({
        awsCall: {
          client: (context.clientName ?? 'unknown').replace(/Client$/, ''),
          operation: (context.commandName ?? 'unknown').replace(/Command$/, ''),
          ms: Math.round(performance.now() - started),
          attempts: meta?.attempts,
          status: meta?.httpStatusCode,
          ...(error === undefined ? {} : { error }),
        },
      });
      let out: unknown;
      try {
        out = await next(args);
      } catch (err) {
        tracer.logger.warn(
          'AWS call failed',
          line((err as Metadata).$metadata, (err as Error).name),
        );
        throw err;
      }
      const ok = line((out as { output?: Metadata }).output?.$metadata);
      if (ok.awsCall.ms > slowMs) tracer.logger.warn('slow AWS call', ok);
      else tracer.logger.debug('AWS call', ok);
      return out;
    },
    { step: 'initialize', name: 'meridianCallTracer', override: true },
  );
  return client;
}

/**
 * `handler`, unchanged but for the cold start: the first invocation of an execution environment
 * logs its init-to-first-call gap at DEBUG. Lambda's active tracing records each invocation's
 * segment.
 */
export function tracedHandler<A extends unknown[], R>(
  tracer: CallTracer,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  let cold = true;
  return async (...args) => {
    if (cold) {
      cold = false;
      tracer.logger.debug('cold start', {
        coldStart: true,
        sinceInitMs: Math.round(performance.now()),
      });
    }
    return handler(...args);
  };
}
