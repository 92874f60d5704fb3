/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  setupFilesAfterEnv: ['<rootDir>/test/helpers/reset-threads.ts'],
  globalSetup: '<rootDir>/test/helpers/global-setup.js',
};
