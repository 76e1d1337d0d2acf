/**
 * Builds the mission-planner page in web/ into web/dist (`npm run build:web`).
 * Under vitest (mode "test") this file is deliberately empty of app settings so
 * it does not change the root or includes of the rest of the test suite.
 */
import { defineConfig } from "vite";

export default defineConfig(({ mode }) =>
  mode === "test"
    ? {}
    : {
        root: "web",
        base: "./",
        publicDir: false,
        build: {
          outDir: "dist",
          emptyOutDir: true,
          target: "es2022",
          sourcemap: false,
          reportCompressedSize: false,
        },
        server: { host: "127.0.0.1" },
        preview: { host: "127.0.0.1" },
      },
);
