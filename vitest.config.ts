import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    reporters: ['default'],
    // Imports its JSON schema without an import attribute, which Node refuses: let Vite load it.
    server: { deps: { inline: ['@actions/workflow-parser'] } },
    // `--coverage` (CI): lines of src/ run by the tests in-process; the simulator and the bench are
    // test and measurement tools, not the product. Child processes (dist/) are not instrumented.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      exclude: ['src/simulator/**', 'src/bench/**'],
      reporter: ['text-summary', 'json-summary'],
      reportsDirectory: 'coverage',
      thresholds: { lines: 90 },
    },
  },
});
