import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../../helpers/process.ts";

export const VERIFYING_DOC = join(REPO_ROOT, "docs", "verifying-tokens.md");

/** The fenced block that follows `<!-- interop:NAME -->` in docs/verifying-tokens.md. */
export function docSnippet(name: string): string {
  const text = readFileSync(VERIFYING_DOC, "utf8");
  const marker = `<!-- interop:${name} -->`;
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`docs/verifying-tokens.md has no ${marker}`);
  const block = /```[a-z]*\n([\s\S]*?)```/.exec(text.slice(at + marker.length));
  if (!block?.[1]) throw new Error(`no code block after ${marker}`);
  return block[1];
}

/** The lines between the `snippet:start` and `snippet:end` comment lines of a source file. */
export function sourceSnippet(path: string): string {
  const lines = readFileSync(join(REPO_ROOT, path), "utf8").split("\n");
  const start = lines.findIndex((l) => l.includes("snippet:start"));
  const end = lines.findIndex((l) => l.includes("snippet:end"));
  if (start < 0 || end < start) throw new Error(`${path} has no snippet markers`);
  return `${lines
    .slice(start + 1, end)
    .join("\n")
    .trimEnd()}\n`;
}
