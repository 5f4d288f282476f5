import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    // tfjs keeps one global engine per process; isolate test files in their own processes.
    pool: 'forks',
    // One file at a time: most files train models on every core, and the time-budget test measures
    // wall-clock; two files at once on 2 cores only contend (the suite is no slower this way).
    fileParallelism: false,
  },
});
