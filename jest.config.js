/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }],
  },
  setupFiles: ['<rootDir>/test/setup.ts'],
  testTimeout: 60000,
  // Jest's default on 2 cores is one worker; most files are CPU-bound in process (CDK, PGlite) or
  // wait on child processes, so two keep both cores busy.
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/support/skip-reporter.js'],
};
