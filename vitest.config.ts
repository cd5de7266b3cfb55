import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Worker pools are real threads; two test files at a time keep a 2-core machine responsive.
    maxWorkers: 2,
    minWorkers: 1,
  },
});
