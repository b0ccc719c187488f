import { defineConfig } from 'vitest/config';

// Two projects: `unit` for pure code and anything fast (runs in parallel), and
// `engine` for tests that drive the real Docker Engine / BuildKit, which run one
// file at a time so they share the engine and its build cache without contention.
export default defineConfig({
  test: {
    globalSetup: ['test/support/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/**/*.test.ts'],
          exclude: ['test/**/*.engine.test.ts', 'node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'engine',
          include: ['test/**/*.engine.test.ts'],
          fileParallelism: false,
          testTimeout: 300_000,
        },
      },
    ],
  },
});
