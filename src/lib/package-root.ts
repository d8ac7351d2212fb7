import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * The directory holding Latchkey's package.json, found from wherever this code was loaded: the
 * sources under src/ (through tsx) or the bundle under dist/ (`npm run build`).
 */
export const PACKAGE_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find Latchkey's package.json");
    dir = parent;
  }
  return dir;
})();
