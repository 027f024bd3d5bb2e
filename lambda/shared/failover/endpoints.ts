/**
 * The lock's endpoints (lib/failover/lock-plan.ts): every lock operation is idempotent for its
 * caller, so one that does not answer at an endpoint is repeated at the next.
 */

/**
 * Runs `op` at each region of `endpoints` in order until one answers. An error `isAnswer` accepts
 * (a refusal, such as a lost fencing token) is an answer and is thrown at once; when no endpoint
 * answers, the last error is thrown.
 */
export async function atFirstEndpoint<T>(
  endpoints: readonly string[],
  op: (region: string) => Promise<T>,
  isAnswer: (err: unknown) => boolean = () => false,
): Promise<T> {
  let last: unknown = new Error('no lock endpoint');
  for (const region of endpoints) {
    try {
      return await op(region);
    } catch (err) {
      if (isAnswer(err)) throw err;
      last = err;
    }
  }
  throw last;
}
