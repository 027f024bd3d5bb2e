/**
 * Real local services. CI (`.ci/run`) sets DATABASE_URL and REDIS_URL to the machine's servers;
 * on a laptop without them the Redis tests are reported as skipped (Postgres tests fall back to
 * PGlite in-process instead).
 */
export const REDIS_URL = process.env.REDIS_URL;

/** `test` when REDIS_URL is set, otherwise a test reported as skipped. */
export const withRedis: jest.It = REDIS_URL ? test : test.skip;
