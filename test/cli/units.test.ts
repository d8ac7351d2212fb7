import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { normalizeAddr } from "../../src/cli/client.ts";
import { configPath, readConfig, resolveConnection, writeConfig } from "../../src/cli/config.ts";
import { exitForStatus } from "../../src/cli/errors.ts";
import { mergedLabels } from "../../src/cli/labels.ts";
import { colorEnabled, durationText, printable, relativeTime, renderTable } from "../../src/cli/output.ts";
import { durationArg, serviceAccountRef, timeArg } from "../../src/cli/parse.ts";
import { localCheck } from "../../src/cli/verify.ts";
import { generateOpaqueToken } from "../../src/tokens/format.ts";

const now = new Date("2030-01-01T00:00:00.000Z");
const at = (seconds: number) => new Date(now.getTime() + seconds * 1000).toISOString();

describe("relative times", () => {
  it.each([
    [0.4, "just now"],
    [45, "in 45 seconds"],
    [-1, "1 second ago"],
    [59.6, "in 1 minute"],
    [3600, "in 1 hour"],
    [-5400, "2 hours ago"],
    [24 * 3600, "in 24 hours"],
    [6 * 86400 + 23 * 3600, "in 7 days"],
    [6 * 86400, "in 6 days"],
    [90 * 86400 - 2, "in 90 days"],
    [-400 * 86400, "400 days ago"],
    [3 * 365.25 * 86400, "in 3 years"],
  ])("%s s → %s", (seconds, text) => {
    expect(relativeTime(at(seconds), now)).toBe(text);
  });

  it("names durations in their largest whole unit", () => {
    expect([0, 45, 600, 3600, 86400, 90 * 86400, 5401].map(durationText)).toEqual([
      "0 seconds",
      "45 seconds",
      "10 minutes",
      "1 hour",
      "1 day",
      "90 days",
      "5401 seconds",
    ]);
  });
});

describe("tables", () => {
  it("aligns columns, ignoring colour codes, and does not pad the last column", () => {
    const red = (s: string) => `\u001b[31m${s}\u001b[39m`;
    const text = renderTable(
      ["NAME", "STATE", "NOTE"],
      [
        ["a", red("revoked"), "x"],
        ["longer-name", "active", ""],
      ],
    );
    expect(text.replaceAll("\u001b[31m", "").replaceAll("\u001b[39m", "")).toBe(
      "NAME         STATE    NOTE\na            revoked  x\nlonger-name  active\n",
    );
  });

  it("shows control characters instead of sending them to the terminal", () => {
    expect(printable("curl/8\u001b[2J\nx\u009b")).toBe("curl/8\\x1b[2J\\x0ax\\x9b");
  });
});

describe("colour", () => {
  const tty = { isTTY: true };
  it("only on a terminal, never with NO_COLOR, --no-color or TERM=dumb", () => {
    expect(colorEnabled(tty, {}, {})).toBe(true);
    expect(colorEnabled({ isTTY: false }, {}, {})).toBe(false);
    expect(colorEnabled(tty, {}, { NO_COLOR: "1" })).toBe(false);
    expect(colorEnabled(tty, {}, { NO_COLOR: "" })).toBe(true);
    expect(colorEnabled(tty, { color: false }, {})).toBe(false);
    expect(colorEnabled(tty, {}, { TERM: "dumb" })).toBe(false);
  });
});

describe("parsing", () => {
  it("reads durations as 90d, 12h, 30m, 3600s", () => {
    expect(["90d", "12h", "30m", "3600s", "600", "2w"].map(durationArg)).toEqual([
      7776000, 43200, 1800, 3600, 600, 1209600,
    ]);
    for (const bad of ["", "d", "1.5h", "-1h", "1y", "12 h", "1e3"]) {
      expect(() => durationArg(bad), bad).toThrow(/is not a duration/);
    }
  });

  it("reads RFC 3339 times into UTC", () => {
    expect(timeArg("2030-01-01T01:00:00+01:00")).toBe("2030-01-01T00:00:00.000Z");
    expect(timeArg("2030-01-01t00:00:00.5z")).toBe("2030-01-01T00:00:00.500Z");
    for (const bad of [
      "2030-01-01",
      "2030-01-01 00:00:00Z",
      "2030-02-30T00:00:00Z",
      "2030-12-31T23:59:60Z",
    ]) {
      expect(() => timeArg(bad), bad).toThrow(/RFC 3339/);
    }
  });

  it("takes a service account by name or by email", () => {
    expect(serviceAccountRef("ci", undefined, {})).toEqual({ project: "default", name: "ci" });
    expect(serviceAccountRef("ci", undefined, { LATCHKEY_PROJECT: "pay" })).toEqual({
      project: "pay",
      name: "ci",
    });
    expect(serviceAccountRef("ci", "ops", {})).toEqual({ project: "ops", name: "ci" });
    expect(serviceAccountRef("ci@pay.serviceaccounts.latchkey", undefined, {})).toEqual({
      project: "pay",
      name: "ci",
    });
    expect(() => serviceAccountRef("ci@pay.serviceaccounts.latchkey", "ops", {})).toThrow(/not ops/);
    expect(() => serviceAccountRef("ci@example.com", undefined, {})).toThrow(/not a service account email/);
  });

  it("normalises server addresses", () => {
    expect(normalizeAddr("127.0.0.1:8080")).toBe("http://127.0.0.1:8080");
    expect(normalizeAddr("https://lk.example/base/")).toBe("https://lk.example/base");
    expect(() => normalizeAddr("ftp://x")).toThrow(/not an http or https address/);
    expect(() => normalizeAddr("http://user:pw@x")).toThrow(/without credentials/);
  });

  it("merges label changes", () => {
    expect(mergedLabels({ a: "1", b: "2" }, { b: "3", c: "4" }, ["a"])).toEqual({ b: "3", c: "4" });
    expect(mergedLabels({ a: "1" }, undefined, undefined)).toBeUndefined();
  });
});

describe("exit statuses", () => {
  it("map HTTP problems to the documented statuses", () => {
    expect([400, 401, 403, 404, 409, 413, 429, 500, 503].map(exitForStatus)).toEqual([
      2, 3, 5, 4, 6, 1, 1, 1, 1,
    ]);
  });
});

describe("the local token check", () => {
  it("accepts a real token, and catches a changed character without a server", () => {
    const token = generateOpaqueToken();
    expect(localCheck(token)).toEqual({ format: "opaque" });
    const last = token.at(-1) === "A" ? "B" : "A";
    expect(localCheck(token.slice(0, -1) + last)).toEqual({ format: "opaque", reason: "checksum_mismatch" });
    expect(localCheck(token.slice(0, -1))).toEqual({ format: "opaque", reason: "malformed" });
    expect(localCheck("eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")).toEqual({ format: "jwt" });
    expect(localCheck("hello")).toEqual({ format: "unknown", reason: "malformed" });
  });
});

describe("profiles and where the connection comes from", () => {
  let home = "";
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  function setup() {
    home = mkdtempSync(join(tmpdir(), "latchkey-config-"));
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, "xdg") };
    const path = configPath(env);
    writeConfig(path, {
      current_profile: "a",
      profiles: {
        a: { addr: "http://a.example", token: "token-a" },
        b: { addr: "http://b.example", token: "token-b" },
      },
    });
    return { env, path };
  }

  it("keeps the file in $XDG_CONFIG_HOME/latchkey/config.json, mode 0600, in a 0700 directory", () => {
    const { env, path } = setup();
    expect(path).toBe(join(home, "xdg", "latchkey", "config.json"));
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(join(home, "xdg", "latchkey")).mode & 0o777).toBe(0o700);
    expect(readConfig(path).profiles.b?.token).toBe("token-b");
    expect(configPath({ HOME: home })).toBe(join(home, ".config", "latchkey", "config.json"));
    expect(configPath({ HOME: home, XDG_CONFIG_HOME: "relative" })).toBe(
      join(home, ".config", "latchkey", "config.json"),
    );
    void env;
  });

  it("flags win over --profile, which wins over the environment, which wins over the current profile", () => {
    const { env } = setup();
    const pick = (flags: object, extra: Record<string, string> = {}) => {
      const c = resolveConnection(flags, { ...env, ...extra });
      return [c.addr, c.token, c.profile];
    };
    expect(pick({})).toEqual(["http://a.example", "token-a", "a"]);
    expect(pick({}, { LATCHKEY_PROFILE: "b" })).toEqual(["http://b.example", "token-b", "b"]);
    expect(pick({}, { LATCHKEY_TOKEN: "env-token" })).toEqual(["http://a.example", "env-token", "a"]);
    expect(
      pick({ profile: "b" }, { LATCHKEY_ADDR: "http://env.example", LATCHKEY_TOKEN: "env-token" }),
    ).toEqual(["http://b.example", "token-b", "b"]);
    expect(pick({ addr: "http://flag.example", token: "flag-token", profile: "b" })).toEqual([
      "http://flag.example",
      "flag-token",
      undefined,
    ]);
  });

  it("never sends a profile's token to another address", () => {
    const { env } = setup();
    const c = resolveConnection({}, { ...env, LATCHKEY_ADDR: "http://elsewhere.example" });
    expect([c.addr, c.token]).toEqual(["http://elsewhere.example", undefined]);
    const d = resolveConnection({ addr: "http://elsewhere.example", profile: "b" }, env);
    expect(d.token).toBeUndefined();
  });

  it("refuses a profile that does not exist", () => {
    const { env } = setup();
    expect(() => resolveConnection({ profile: "zzz" }, env)).toThrow(/no profile named "zzz"/);
  });
});
