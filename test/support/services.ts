import * as fs from 'node:fs';

/**
 * Real local services. CI (`.ci/run`) sets DATABASE_URL and REDIS_URL to the machine's servers;
 * on a laptop without them the Redis tests are reported as skipped (Postgres tests fall back to
 * PGlite in-process instead).
 */
export const REDIS_URL = process.env.REDIS_URL;

/** `test` when REDIS_URL is set, otherwise a test reported as skipped. */
export const withRedis: jest.It = REDIS_URL ? test : test.skip;

/** Debian's Chromium (`.ci/run` installs it), or CHROMIUM_PATH; undefined when there is none. */
export const CHROMIUM = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  process.env.CHROMIUM_PATH,
]
  .filter((x): x is string => typeof x === 'string')
  .find((x) => fs.existsSync(x));

/** `test` when Chromium is installed, otherwise a test reported as skipped (like withRedis). */
export const withChromium: jest.It = CHROMIUM ? test : test.skip;
