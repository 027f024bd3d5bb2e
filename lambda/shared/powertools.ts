/**
 * Powertools for one function, created once at module scope: Logger, Metrics and Tracer named by
 * the function (MeridianFunction sets POWERTOOLS_SERVICE_NAME to the handler folder), SDK clients
 * captured in the X-Ray trace, and a handler wrapper that gives each invocation its own
 * subsegment. Logs, annotations and trace metadata carry ids, counts and error messages, never a
 * record's field values; responses are not added to traces (they can hold record ids in bulk).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';

export interface Powertools {
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/** Logger, Metrics (CloudWatch namespace `namespace`) and Tracer of the service `serviceName`. */
export function powertools(namespace: string, serviceName: string): Powertools {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace, serviceName }),
    tracer: new Tracer({ serviceName }),
  };
}

/** An AWS SDK v3 client (anything with a middleware stack). */
interface SdkClient {
  readonly middlewareStack: unknown;
  send(...args: never[]): unknown;
}

const captured = new WeakSet<object>();

/** `client`, its calls recorded as X-Ray subsegments; capturing the same client again is a no-op. */
export function traceClient<C extends SdkClient>(tracer: Tracer, client: C): C {
  if (captured.has(client)) return client;
  captured.add(client);
  return tracer.captureAWSv3Client(client);
}

/**
 * `handler`, each invocation in a `## <handler>` subsegment annotated with ColdStart and Service;
 * an error is added to it as metadata and rethrown. Without an active trace (tests, drills, local
 * runs) the handler runs as it is.
 */
export function tracedHandler<A extends unknown[], R>(
  tracer: Tracer,
  handler: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  return async (...args) => {
    const segment = tracer.isTracingEnabled() ? tracer.getSegment() : undefined;
    if (!segment) return handler(...args);
    const subsegment = segment.addNewSubsegment(`## ${process.env._HANDLER ?? 'index.handler'}`);
    tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    try {
      return await handler(...args);
    } catch (err) {
      tracer.addErrorAsMetadata(err as Error);
      throw err;
    } finally {
      subsegment.close();
      tracer.setSegment(segment);
    }
  };
}
