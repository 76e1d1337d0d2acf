import { tmpdir } from "node:os";
import { join } from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "web/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: "forks",
    maxWorkers: 2,
    // Workers (and the processes they start with this environment) claim the ports they pick
    // in one folder, so two workers' stacks do not get the same one (src/server/native.ts freePort).
    env: { MISSION_RELAY_PORT_CLAIMS: join(tmpdir(), "mission-relay-test-ports") },
  },
});
