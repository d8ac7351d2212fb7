import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import SQLite from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { http, type ServerProcess, startServerProcess } from "../../helpers/process.ts";
import { report, scaled } from "./mode.ts";

/**
 * The SQLite store on a filesystem that fills up while the server runs (a 16 MiB tmpfs as the data
 * directory): writes are refused with 503 `storage_full`, reads go on, the process stays up, the
 * file stays sound, and writes work again once space returns.
 */
const SIZE = "16m";
/** Fill-and-free cycles on the same running server. */
const CYCLES = scaled(1, 5);

/** Writes zeros into `file` until the filesystem refuses; returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, "a");
  let written = 0;
  try {
    for (const size of [1 << 20, 64 << 10, 4 << 10, 512]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          written += writeSync(fd, chunk);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Mounting needs root: CI runs as root (and fails without it); elsewhere the test is skipped. */
const CAN_MOUNT = process.getuid?.() === 0 || process.env.CI === "true";

describe.skipIf(!CAN_MOUNT)("disk full under SQLite", () => {
  let mountPoint: string;
  let mounted = false;
  let server: ServerProcess;
  let admin: string;
  const tokens: Record<string, string> = {};

  beforeAll(async () => {
    mountPoint = mkdtempSync(join(tmpdir(), "latchkey-full-"));
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${SIZE},mode=0700`, "tmpfs", mountPoint]);
    mounted = true;
    server = await startServerProcess({
      dataDir: join(mountPoint, "data"),
      logLevel: "fatal",
      env: { LATCHKEY_FAILED_AUTH_LIMIT: "100000/60s" },
    });
    admin = readFileSync(join(server.dataDir, "bootstrap-token"), "utf8").trim();
    const sa = await http(server.url, "POST", "/v1/projects/default/service-accounts", {
      token: admin,
      body: { name: "reader", role: "admin" },
    });
    expect(sa.status, sa.text).toBe(201);
    const unused = Array.from({ length: CYCLES }, (_, c) => `unused-${c}`);
    for (const name of ["used", "to-rotate", "to-revoke", ...unused]) {
      const res = await http(server.url, "POST", "/v1/projects/default/service-accounts/reader/tokens", {
        token: admin,
        body: { name },
      });
      expect(res.status, res.text).toBe(201);
      tokens[name] = res.body.token;
    }
    expect((await http(server.url, "GET", "/v1/whoami", { token: tokens.used })).status).toBe(200);
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    if (mounted) execFileSync("umount", ["-l", mountPoint]);
    rmdirSync(mountPoint);
  });

  it(`${CYCLES}×: refuses writes with 503 storage_full, keeps reading, stays sound and recovers`, async () => {
    const figures: Record<string, unknown>[] = [];
    for (let cycle = 0; cycle < CYCLES; cycle++) figures.push(await fullCycle(cycle));
    report("disk full (SQLite)", { filesystem: `tmpfs ${SIZE}`, cycles: figures });
  });

  async function fullCycle(cycle: number): Promise<Record<string, unknown>> {
    const filler = join(mountPoint, "filler");
    const filled = fill(filler);

    // The WAL may still have room for a few small transactions: write until the store says it is full.
    const writes: { status: number; code?: string; name: string }[] = [];
    for (let i = 0; i < 500; i++) {
      const name = `full-${cycle}-${i}`;
      const res = await http(server.url, "POST", "/v1/projects/default/service-accounts", {
        token: admin,
        body: { name, description: "x".repeat(1024), labels: { team: "y".repeat(60) } },
      });
      writes.push({ status: res.status, code: res.body?.code, name });
      if (res.status !== 201) {
        expect(res.status, res.text).toBe(503);
        expect(res.body.code).toBe("storage_full");
        expect(res.headers.get("retry-after")).toBeTruthy();
        break;
      }
    }
    const refused = writes.filter((w) => w.status !== 201);
    expect(refused.length, "the filesystem never filled up").toBe(1);

    // Every kind of write is refused the same way, and changes nothing.
    const rotate = await http(server.url, "POST", "/v1/tokens/self/rotate", { token: tokens["to-rotate"] });
    const revoke = await http(server.url, "DELETE", "/v1/tokens/self", { token: tokens["to-revoke"] });
    const create = await http(server.url, "POST", "/v1/projects/default/service-accounts/reader/tokens", {
      token: admin,
      body: { name: `while-full-${cycle}` },
    });
    for (const res of [rotate, revoke, create]) {
      expect(res.status, res.text).toBe(503);
      expect(res.body.code).toBe("storage_full");
    }

    // Reads go on: authentication (first use too), lists, single resources, the audit log.
    const reads = [
      await http(server.url, "GET", "/v1/whoami", { token: tokens.used }),
      await http(server.url, "GET", "/v1/whoami", { token: tokens[`unused-${cycle}`] }),
      await http(server.url, "GET", "/v1/whoami", { token: tokens["to-rotate"] }),
      await http(server.url, "GET", "/v1/projects/default/service-accounts", { token: admin }),
      await http(server.url, "GET", "/v1/projects/default/service-accounts/reader/tokens", { token: admin }),
      await http(server.url, "GET", "/v1/audit-events?limit=5", { token: admin }),
    ];
    expect(reads.map((r) => r.status)).toEqual(reads.map(() => 200));
    expect((await http(server.url, "GET", "/healthz")).status).toBe(200);

    // The file is sound, read by another connection while the server holds it.
    const check = new SQLite(join(server.dataDir, "latchkey.db"), { readonly: true });
    try {
      expect(check.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      check.close();
    }

    // Space returns: writes work again, without a restart, and the refused ones left nothing behind.
    rmSync(filler);
    const again = await http(server.url, "POST", "/v1/projects/default/service-accounts", {
      token: admin,
      body: { name: `after-full-${cycle}` },
    });
    expect(again.status, again.text).toBe(201);
    const refusedName = refused[0]!.name;
    expect(
      (
        await http(server.url, "GET", `/v1/projects/default/service-accounts/${refusedName}`, {
          token: admin,
        })
      ).status,
    ).toBe(404);
    const rotated = await http(server.url, "POST", "/v1/tokens/self/rotate", { token: tokens["to-rotate"] });
    expect(rotated.status, rotated.text).toBe(201);
    tokens["to-rotate"] = rotated.body.token;
    const chain = await http(server.url, "GET", "/v1/audit-events?verify=true", { token: admin });
    expect(chain.body.valid).toBe(true);
    const after = new SQLite(join(server.dataDir, "latchkey.db"), { readonly: true });
    try {
      expect(after.pragma("integrity_check", { simple: true })).toBe("ok");
    } finally {
      after.close();
    }
    return {
      filler_bytes: filled,
      writes_before_full: writes.length - 1,
      refused: `${refused[0]!.status} ${refused[0]!.code}`,
      reads_ok_while_full: reads.length,
      integrity_check: "ok",
      recovered: true,
    };
  }
});
