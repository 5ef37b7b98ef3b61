/** Test runner configuration: unit tests in parallel, lab tests (namespaces, daemons) one file at a time. */
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Lab suites create namespaces and daemons; running them side by side on 2 cores makes timers flaky.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default"],
  },
});
