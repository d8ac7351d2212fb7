import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { type Agent, request } from "node:http";
import { fileURLToPath } from "node:url";

/** One request of the mixed workload, sent over a keep-alive connection; resolves with the status. */
export function send(
  agent: Agent,
  url: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const target = new URL(path, url);
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(payload === undefined
            ? {}
            : { "content-type": "application/json", "content-length": Buffer.byteLength(payload) }),
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
        res.on("error", reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error("timed out after 30 s")));
    req.on("error", reject);
    req.end(payload);
  });
}

/** The whole machine's CPU time so far (/proc/stat, in ticks): busy (neither idle nor iowait) and total. */
export function machineCpu(): { busy: number; total: number } {
  const ticks = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = ticks.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already in user
  return { busy: total - ticks[3]! - ticks[4]!, total };
}

/** Percentile (nearest rank) of an ascending-sorted list. */
export function percentileOfSorted(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** The value of one unlabelled series in a Prometheus text exposition. */
export function metric(text: string, name: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1).split(" ")[0]);
}

/**
 * Sends `rate` requests a second on a fixed schedule for `seconds` (open loop): request `i` is due
 * at `i / rate` s and `fire` gets that moment, so latency can be counted from it and a stall shows
 * as latency instead of silently slowing the load down. The generator wakes every millisecond
 * (Node's shortest timer): how late a request is sent is part of its latency, and a coarser tick
 * adds that much to every figure (5 ms: the median verify was 5.6 ms instead of 2.3).
 */
export async function openLoop(
  rate: number,
  seconds: number,
  fire: (scheduledAt: number) => Promise<void>,
  onTick?: (now: number, started: number) => void,
): Promise<{ sent: number; maxInFlight: number }> {
  const started = performance.now();
  const end = started + seconds * 1000;
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let maxInFlight = 0;
  while (performance.now() < end) {
    const now = performance.now();
    onTick?.(now, started);
    const due = Math.floor(((now - started) / 1000) * rate);
    for (; sent < due; sent++) {
      const p = fire(started + (sent / rate) * 1000);
      pending.add(p);
      maxInFlight = Math.max(maxInFlight, pending.size);
      void p.finally(() => pending.delete(p));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  return { sent, maxInFlight };
}

/** A bare HTTP server in a process of its own (floor-server.ts), answering `bodyLength` bytes. */
export async function startFloorServer(bodyLength: number): Promise<{ url: string; stop(): void }> {
  const file = fileURLToPath(new URL("./floor-server.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", file, String(bodyLength)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const port = await new Promise<string>((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the floor server exited (${code})`)));
    child.stdout.once("data", (chunk: Buffer) => resolve(chunk.toString().trim()));
  });
  return { url: `http://127.0.0.1:${port}`, stop: () => void child.kill("SIGTERM") };
}

/** The cumulative buckets (`le` → count) of one histogram series with these labels. */
export function histogramBuckets(text: string, name: string, labels: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const pattern = new RegExp(`^${name}_bucket\\{le="([^"]+)",${labels}\\} (\\d+)`);
  for (const line of text.split("\n")) {
    const match = pattern.exec(line);
    if (match)
      buckets.set(match[1] === "+Inf" ? Number.POSITIVE_INFINITY : Number(match[1]), Number(match[2]));
  }
  return buckets;
}
