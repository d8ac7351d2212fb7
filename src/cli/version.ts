import { createRequire } from "node:module";

/** The package version: what `latchkey --version` prints and the CLI sends in its User-Agent. */
export const VERSION: string = (createRequire(import.meta.url)("../../package.json") as { version: string })
  .version;
