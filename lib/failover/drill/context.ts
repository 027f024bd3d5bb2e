/**
 * (Drill support: not deployed.) The region a drilled step runs in, carried through its async
 * calls, so the world's fakes know who is calling when several runbooks run at once.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export const drillContext = new AsyncLocalStorage<{ readonly region: string }>();
