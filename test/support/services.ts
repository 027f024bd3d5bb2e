import * as fs from 'node:fs';

/**
 * Real local services. CI (`.ci/run`) sets DATABASE_URL and REDIS_URL to the machine's servers;
 * on a laptop without them the Redis tests are reported as skipped (Postgres tests fall back to
 * PGlite in-process instead).
 */
export const REDIS_URL = process.env.REDIS_URL;

/**
 * `test` when `available`, else the same test reported as skipped with `why` in its name, which
 * test/support/skip-reporter.js prints at the end of every run: a skip never goes unexplained.
 */
function testWhen(available: boolean, why: string): jest.It {
  if (available) return test;
  const skipped = ((name: string, fn?: jest.ProvidesCallback, timeout?: number) =>
    test.skip(`${name} [skipped: ${why}]`, fn, timeout)) as jest.It;
  return Object.assign(skipped, test);
}

/** `test` when REDIS_URL is set, otherwise a test reported as skipped, with the reason. */
export const withRedis: jest.It = testWhen(
  REDIS_URL !== undefined,
  "REDIS_URL is not set (.ci/run sets it to the machine's Redis at 127.0.0.1:6379)",
);

/** Debian's Chromium (`.ci/run` installs it), or CHROMIUM_PATH; undefined when there is none. */
export const CHROMIUM = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  process.env.CHROMIUM_PATH,
]
  .filter((x): x is string => typeof x === 'string')
  .find((x) => fs.existsSync(x));

/** `test` when Chromium is installed, otherwise a test reported as skipped (like withRedis). */
export const withChromium: jest.It = testWhen(
  CHROMIUM !== undefined,
  "no Chromium at /usr/bin/chromium or CHROMIUM_PATH (.ci/run installs Debian's chromium)",
);
