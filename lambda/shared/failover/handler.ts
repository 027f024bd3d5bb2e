/**
 * What every runbook step function shares: its configuration, read and checked once at cold
 * start, and the SDK clients its step uses, created once per container. Each step's `index.ts`
 * names only the clients it needs, so its bundle carries only those SDKs.
 * Retries within a call are the SDK's; retries of a step are the state machine's.
 */
import { type RunbookConfig, readRunbookConfig } from './config';
import type { Clients, RunbookState } from './steps';

/** Creates one client per region on first use. */
export function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let c = made.get(region);
    if (!c) {
      c = make(region);
      made.set(region, c);
    }
    return c;
  };
}

/** The SDK clients a step uses, built from its configuration. */
export type ClientFactory = (config: RunbookConfig) => Partial<Clients>;

/** SDK options every step client uses: three attempts with the SDK's backoff. */
export const CLIENT_OPTIONS = { maxAttempts: 3 } as const;

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
 */
export function stepHandler<R>(
  step: (config: RunbookConfig, clients: Clients, state: RunbookState) => R | Promise<R>,
  clients: ClientFactory = () => ({}),
): (state: RunbookState) => Promise<R> {
  // Per step: each step declares its own clients.
  const configured = new Map<string, { config: RunbookConfig; clients: Clients }>();
  const current = () => {
    const raw = process.env.MERIDIAN_RUNBOOK ?? '';
    let c = configured.get(raw);
    if (!c) {
      const config = readRunbookConfig(process.env);
      c = { config, clients: complete(clients(config)) };
      configured.set(raw, c);
    }
    return c;
  };
  if (process.env.MERIDIAN_RUNBOOK !== undefined) current();
  return async (state) => {
    const { config, clients: k } = current();
    return step(config, k, state);
  };
}
