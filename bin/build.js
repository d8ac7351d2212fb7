#!/usr/bin/env node
// `npm run build` (and `npm ci`, through "prepare"): bundles the server and CLI from src/ into
// dist/ with esbuild, so `latchkey` starts without compiling TypeScript and without tsx's loader
// thread. Packages stay external (resolved from node_modules at run time); lazily imported modules
// (the PostgreSQL store, the CLI's commands) stay in chunks of their own.
import { rmSync } from "node:fs";
import { fileURLToPath, URL } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("..", import.meta.url));
rmSync(`${root}dist`, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { latchkey: "src/cli/index.ts" },
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  splitting: true,
  outdir: "dist",
  sourcemap: "linked",
  logLevel: "warning",
});
