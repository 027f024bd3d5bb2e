/**
 * (Drill support: not deployed.) The region a drilled step runs in and its execution, carried
 * through its async calls, so the world's fakes know who is calling when several runbooks run at
 * once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const drillContext = new AsyncLocalStorage<{
  readonly region: string;
  /** The execution the step belongs to (its name): the world checks it holds the lock. */
  readonly execution?: string;
}>();
