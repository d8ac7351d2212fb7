/**
 * Summarizes a V8 .cpuprofile (from `npm run bench -- --profile`): the functions with the most
 * self time, and the most inclusive time among Latchkey's own sources.
 * Usage: node --import tsx bench/profile-summary.ts FILE.cpuprofile [top=30]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}
const [file, topText = "30"] = process.argv.slice(2);
if (!file) throw new Error("usage: profile-summary FILE.cpuprofile [top]");
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[] };
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const total = profile.samples.length;
const label = (n: Node) =>
  `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.replace(/^.*\/(node_modules|src|packages)\//, "$1/")}:${n.callFrame.lineNumber + 1}`;
const self = new Map<string, number>();
for (const n of profile.nodes) self.set(label(n), (self.get(label(n)) ?? 0) + (n.hitCount ?? 0));
const idle = [...self.entries()].filter(([k]) => k.startsWith("(idle)")).reduce((a, [, v]) => a + v, 0);
const busy = total - idle;
console.log(
  `samples ${total}, busy ${busy} (${((busy / total) * 100).toFixed(0)}%)\n\nself time (% of busy):`,
);
for (const [k, v] of [...self.entries()]
  .filter(([k]) => !k.startsWith("(idle)"))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(topText)))
  console.log(`${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
// Inclusive time: each node's hits count for every distinct function on its stack.
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const inclusive = new Map<string, number>();
for (const n of profile.nodes) {
  const hits = n.hitCount ?? 0;
  if (!hits) continue;
  const seen = new Set<string>();
  for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
    const node = byId.get(id) as Node;
    const l = label(node);
    if (!seen.has(l)) {
      seen.add(l);
      inclusive.set(l, (inclusive.get(l) ?? 0) + hits);
    }
  }
}
console.log("\ninclusive time, Latchkey sources (% of busy):");
for (const [k, v] of [...inclusive.entries()]
  .filter(([k]) => / (src|packages)\//.test(k))
  .sort((a, b) => b[1] - a[1])
  .slice(0, Number(topText)))
  console.log(`${((v / busy) * 100).toFixed(1).padStart(5)}%  ${k}`);
