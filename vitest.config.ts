import { configDefaults, defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // The multi-process cluster tests run on their own (LATCHKEY_TEST_CLUSTER=1 in .ci/run): they
    // measure delays and stop PostgreSQL, so they are left out of the ordinary run, not skipped in it.
    exclude:
      process.env.LATCHKEY_TEST_CLUSTER === "1"
        ? configDefaults.exclude
        : [...configDefaults.exclude, "test/cluster/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // In CI a JSON report as well, from which .ci/run prints its "N passed, N failed" line.
    reporters: process.env.CI ? ["default", ["json", { outputFile: ".tmp/vitest.json" }]] : ["default"],
  },
});
