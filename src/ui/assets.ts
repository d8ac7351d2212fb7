import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import * as esbuild from "esbuild";
import { PACKAGE_ROOT } from "../lib/package-root.ts";

/** The browser app, built from src/ui/web once per process, in memory. */
export interface UiBundle {
  /** By file name under /ui/assets/ (content-hashed, so cacheable for ever). */
  assets: Map<string, { body: Buffer; contentType: string }>;
  /** The page every /ui route serves; it names the hashed assets. */
  indexHtml: string;
}

/** The browser sources (with a trailing slash), which are bundled at start-up. */
export const WEB_ROOT = join(PACKAGE_ROOT, "src/ui/web/");

const CONTENT_TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".map": "application/json; charset=utf-8",
};

const hashOf = (body: Uint8Array): string => createHash("sha256").update(body).digest("hex").slice(0, 16);

/**
 * Bundles `entry` (default src/ui/web/main.tsx) with esbuild: ESM, minified, JSX for Preact, CSS
 * imported from the code written to its own file. Each output is named `app-<sha256 prefix>.<ext>`
 * (other imported files `<name>-<hash>`), so a changed build never meets a stale cache.
 */
export async function buildUiBundle(entry = `${WEB_ROOT}main.tsx`): Promise<UiBundle> {
  const entryPoints = [entry];
  // styles.css is normally imported from main.tsx; if it is not, it is bundled on its own.
  const styles = `${WEB_ROOT}styles.css`;
  if (
    entry === `${WEB_ROOT}main.tsx` &&
    existsSync(styles) &&
    !readFileSync(entry, "utf8").includes("styles.css")
  ) {
    entryPoints.push(styles);
  }
  const result = await esbuild.build({
    entryPoints,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "browser",
    target: ["chrome120"],
    jsx: "automatic",
    jsxImportSource: "preact",
    loader: { ".css": "css", ".svg": "file", ".png": "file", ".woff2": "file" },
    outdir: "/ui-assets",
    entryNames: "app-[hash]",
    assetNames: "[name]-[hash]",
    publicPath: "/ui/assets",
    write: false,
    legalComments: "none",
    charset: "utf8",
    logLevel: "silent",
    define: { "process.env.NODE_ENV": '"production"' },
  });
  const assets = new Map<string, { body: Buffer; contentType: string }>();
  const scripts: string[] = [];
  const stylesheets: string[] = [];
  for (const file of result.outputFiles) {
    const ext = extname(file.path);
    let name = basename(file.path);
    // Entry outputs get our own content hash (esbuild's covers inputs, not the final bytes).
    if (name.startsWith("app-") && (ext === ".js" || ext === ".css"))
      name = `app-${hashOf(file.contents)}${ext}`;
    assets.set(name, {
      body: Buffer.from(file.contents),
      contentType: CONTENT_TYPES[ext] ?? "application/octet-stream",
    });
    if (name.startsWith("app-") && ext === ".js") scripts.push(name);
    if (name.startsWith("app-") && ext === ".css") stylesheets.push(name);
  }
  return { assets, indexHtml: indexPage(scripts.sort(), stylesheets.sort()) };
}

/** No inline script or style: the CSP allows only files from /ui/assets. */
function indexPage(scripts: string[], stylesheets: string[]): string {
  const links = stylesheets.map((s) => `<link rel="stylesheet" href="/ui/assets/${s}">`).join("");
  const tags = scripts.map((s) => `<script type="module" src="/ui/assets/${s}"></script>`).join("");
  return (
    `<!doctype html><html lang="en"><head><meta charset="utf-8">` +
    `<meta name="viewport" content="width=device-width, initial-scale=1">` +
    `<title>Latchkey</title><link rel="icon" href="data:,">${links}${tags}</head>` +
    `<body><div id="app"></div><noscript>The Latchkey web UI needs JavaScript.</noscript></body></html>`
  );
}

let cached: Promise<UiBundle> | undefined;

/** The bundle of this process: built on first use, then kept. A failed build is retried next time. */
export function uiBundle(): Promise<UiBundle> {
  if (!cached) {
    cached = buildUiBundle();
    cached.catch(() => {
      cached = undefined;
    });
  }
  return cached;
}
