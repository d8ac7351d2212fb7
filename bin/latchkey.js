#!/usr/bin/env node
// Runs the bundle that `npm run build` writes to dist/ (npm ci builds it), or, when any source is
// newer than the bundle (a checkout being edited), the TypeScript sources directly through tsx.
import { readdirSync, statSync } from "node:fs";
import process from "node:process";
import { fileURLToPath, URL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const bundle = `${root}dist/latchkey.js`;

function bundleIsCurrent() {
  let built;
  try {
    built = statSync(bundle).mtimeMs;
  } catch {
    return false;
  }
  for (const entry of readdirSync(`${root}src`, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && statSync(`${entry.parentPath ?? entry.path}/${entry.name}`).mtimeMs > built)
      return false;
  }
  return true;
}

if (process.env.LATCHKEY_FROM_SOURCE !== "1" && bundleIsCurrent()) {
  await import(bundle);
} else {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../src/cli/index.ts");
}
