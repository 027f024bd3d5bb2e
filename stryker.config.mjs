// @ts-check
/**
 * Mutation testing of the critical pure and Postgres modules (issue 15 item 8): `npm run mutate`.
 * Not in CI: a full run takes tens of minutes on 2 cores. Set DATABASE_URL to the local server
 * (postgres://postgres@127.0.0.1:5432/test) for the Postgres modules: on PGlite, with one session,
 * mutants such as dropping SKIP LOCKED survive. Reports go to .build/mutation/ (reports/ holds the
 * committed compliance report); `bench/mutation.ts` turns them into bench/mutation-results.json.
 * Survivors judged equivalent are listed in bench/mutation-survivors.md.
 *
 * lib/compliance/residency-guard.ts is scored by its unit test on hand-built templates (seconds
 * per mutant). MUTATE_SLOW=1 adds the tests that synthesize whole apps (the guard's test builds
 * the eight-region app at module scope, ~50 s per mutant on 2 cores; the drill synthesizes the
 * runbook). Without it, those tests are left out: with `enableFindRelatedTests` they would also
 * run for every residency-plan mutant whose code runs at module scope (a "static" mutant runs
 * every related test).
 */
const slow = process.env.MUTATE_SLOW === '1';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  coverageAnalysis: 'perTest',
  // Mutants in code that runs at module load (a fixture loaded at the top of a test file) would
  // each rerun every related test: hours on 2 cores. They are reported as Ignored (counted in
  // bench/mutation-results.json's notes), not scored.
  ignoreStatic: true,
  concurrency: 1,
  timeoutMS: 20000,
  mutate: [
    'lambda/shared/residency-plan.ts',
    'lambda/shared/sync/conflict.ts',
    'lambda/shared/sync/hlc.ts',
    'lambda/shared/sync/masking.ts',
    'lambda/shared/failover/decide.ts',
    'lambda/shared/failover/lock.ts',
    'lambda/shared/sync/apply.ts',
    'lambda/shared/sync/outbox-store.ts',
    'lambda/shared/sync/replica-store.ts',
    'lib/compliance/residency-guard.ts',
  ],
  jest: {
    configFile: 'jest.config.js',
    enableFindRelatedTests: true,
    config: {
      testMatch: [
        '<rootDir>/test/config/residency-plan*.test.ts',
        '<rootDir>/test/sync/{conflict,masking,replica-store,replica-store.property,pipeline,drain,faults,redrive}.test.ts',
        '<rootDir>/test/failover/{lock,decide}.test.ts',
        '<rootDir>/test/compliance/residency-guard.unit.test.ts',
        ...(slow
          ? [
              '<rootDir>/test/failover/drill.test.ts',
              '<rootDir>/test/compliance/residency-guard.test.ts',
            ]
          : []),
      ],
    },
  },
  ignorePatterns: ['/cdk.out', '/cdktf.out', '/.build', '/.cdk-home', '/coverage', '/reports'],
  tempDirName: '.build/stryker-tmp',
  incremental: true,
  incrementalFile: '.build/mutation/incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html', 'json'],
  htmlReporter: {
    fileName: '.build/mutation/index.html',
  },
  jsonReporter: {
    fileName: '.build/mutation/mutation.json',
  },
  clearTextReporter: {
    allowColor: false,
    logTests: false,
    reportScoreTable: true,
  },
};
