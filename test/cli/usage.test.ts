import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/process.ts";
import { auditIds, type CliWorld, latchkey, startWorld } from "./helpers.ts";

/** Runs at most `n` at a time (the machine has two cores; every run is a process). */
async function limited<T, R>(items: T[], n: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await run(items[i]!);
      }
    }),
  );
  return out;
}

describe(
  "bad flags and bad durations: a clear message, exit 2, nothing changed",
  { timeout: 180_000 },
  () => {
    let w: CliWorld;
    let tokenId = "";
    beforeAll(async () => {
      w = await startWorld();
      await w.run(["project", "create", "payments"]);
      await w.run(["sa", "create", "deployer", "--role", "contributor"]);
      tokenId = (await w.run(["token", "create", "--sa", "deployer", "--name", "ci", "--json"])).json().id;
    });
    afterAll(async () => {
      await w?.close();
    });

    const cases: [string, (id: string) => string[], RegExp][] = [
      [
        "a duration without a unit we know",
        () => ["token", "create", "--sa", "deployer", "--name", "x", "--ttl", "5x"],
        /"5x" is not a duration: use a whole number with a unit: 90d, 12h, 30m or 3600s/,
      ],
      [
        "a fractional duration",
        () => ["token", "create", "--sa", "deployer", "--name", "x", "--ttl", "1.5h"],
        /"1\.5h" is not a duration/,
      ],
      [
        "a negative duration",
        () => ["token", "create", "--sa", "deployer", "--name", "x", "--ttl=-3d"],
        /"-3d" is not a duration/,
      ],
      [
        "a bad grace period",
        (id) => ["token", "rotate", id, "--grace", "forever"],
        /"forever" is not a duration/,
      ],
      [
        "a time that is not RFC 3339",
        (id) => ["token", "rotate", id, "--previous-expires-at", "tomorrow"],
        /"tomorrow" is not an RFC 3339 time/,
      ],
      [
        "a leap second",
        (id) => ["token", "rotate", id, "--previous-expires-at", "2030-12-31T23:59:60Z"],
        /is not an RFC 3339 time/,
      ],
      [
        "a grace period and a deadline",
        (id) => ["token", "rotate", id, "--grace", "1h", "--previous-expires-at", "2099-01-01T00:00:00Z"],
        /option '--grace <duration>' cannot be used with option '--previous-expires-at <time>'/,
      ],
      [
        "a missing --name",
        () => ["token", "create", "--sa", "deployer"],
        /required option '-n, --name <name>' not specified/,
      ],
      ["a missing --sa", () => ["token", "list"], /required option '--sa <name-or-email>' not specified/],
      [
        "a role that does not exist",
        () => ["sa", "create", "x", "--role", "superuser"],
        /argument 'superuser' is invalid\. Allowed choices are viewer, contributor, admin, owner/,
      ],
      ["an unknown flag", () => ["sa", "create", "x", "--bogus"], /unknown option '--bogus'/],
      ["a misspelt command", () => ["token", "lsit"], /unknown command 'lsit'[\s\S]*Did you mean list\?/],
      ["a missing argument", () => ["project", "create"], /missing required argument 'name'/],
      ["an extra argument", () => ["whoami", "extra"], /too many arguments for 'whoami'/],
      ["a token id that is not one", () => ["token", "get", "nope"], /"nope" is not a token id/],
      [
        "--quiet with --output-file",
        () => ["token", "create", "--sa", "deployer", "--name", "x", "-q", "-o", "x.token"],
        /option '-o, --output-file <file>' cannot be used with option '-q, --quiet'/,
      ],
      [
        "a page size out of range",
        () => ["audit", "list", "--limit", "0"],
        /"0" must be a whole number from 1 to 500/,
      ],
      [
        "a bad --since",
        () => ["audit", "list", "--since", "yesterday"],
        /"yesterday" is neither an RFC 3339 time/,
      ],
      ["nothing to revoke", () => ["token", "revoke"], /nothing to revoke/],
      ["--all without --sa", () => ["token", "revoke", "--all", "--yes"], /nothing to revoke/],
      ["nothing to update", () => ["project", "update", "default"], /nothing to change/],
      ["a bad address", () => ["whoami", "--addr", "ftp://example"], /is not an http or https address/],
      ["an unknown profile", () => ["whoami", "--profile", "nope"], /no profile named "nope"/],
      [
        "a name the server refuses",
        () => ["sa", "create", "Bad_Name"],
        /name: must match pattern .*\(validation_failed\)/,
      ],
      [
        "a lifetime below the minimum",
        () => ["token", "create", "--sa", "deployer", "--name", "x", "--ttl", "5m"],
        /ttl_seconds must be between 600 and \d+ \(ttl_out_of_range\)/,
      ],
      [
        "a lifetime above the maximum",
        () => ["token", "create", "--sa", "deployer", "--name", "x", "--ttl", "9999d"],
        /\(ttl_out_of_range\)/,
      ],
      [
        "a delete without a terminal and without --yes",
        () => ["sa", "delete", "deployer"],
        /refusing to delete a service account without confirmation: there is no terminal to ask on[\s\S]*hint: pass --yes/,
      ],
      [
        "a revoke without a terminal and without --yes",
        (id) => ["token", "revoke", id],
        /refusing to revoke a token without confirmation/,
      ],
      [
        "a bulk revoke without a terminal and without --yes",
        () => ["token", "revoke", "--sa", "deployer", "--all"],
        /refusing to revoke tokens without confirmation/,
      ],
      [
        "a project delete without a terminal and without --yes",
        () => ["project", "delete", "payments"],
        /refusing to delete a project without confirmation/,
      ],
    ];

    it("refuses each with exit 2 and says why on stderr, with nothing on stdout and nothing changed", async () => {
      const before = await auditIds(w);
      const tokensBefore = (await w.run(["token", "list", "--sa", "deployer", "--json"])).json();
      const results = await limited(cases, 3, ([, args]) => w.run(args(tokenId)));
      for (const [i, [what, , message]] of cases.entries()) {
        const r = results[i]!;
        expect({ what, code: r.code }).toEqual({ what, code: 2 });
        expect(r.stderr, what).toMatch(message);
        expect(r.stderr, what).toMatch(/^latchkey: /);
        expect(r.stderr, what).toMatch(/^hint: /m);
        expect(r.stdout, what).toBe("");
      }
      expect(await auditIds(w)).toEqual(before);
      expect((await w.run(["token", "list", "--sa", "deployer", "--json"])).json()).toEqual(tokensBefore);
      expect((await w.run(["sa", "list", "--quiet"])).stdout).toBe("bootstrap\ndeployer\n");
      expect((await w.run(["project", "list", "--quiet"])).stdout).toBe("default\npayments\n");
    });

    it("reports usage errors as one JSON line on stderr with --json", async () => {
      const [local, server] = await Promise.all([
        w.run(["token", "create", "--sa", "deployer", "--name", "x", "--ttl", "5x", "--json"]),
        w.run(["sa", "create", "Bad_Name", "--json"]),
      ]);
      expect(local.code).toBe(2);
      expect(local.stdout).toBe("");
      expect(local.errorJson()).toEqual({
        error: {
          code: "usage_error",
          message: expect.stringContaining('"5x" is not a duration'),
          exit_code: 2,
        },
      });
      expect(server.code).toBe(2);
      expect(server.errorJson().error).toMatchObject({
        code: "validation_failed",
        status: 400,
        exit_code: 2,
        errors: [{ field: "name", message: expect.any(String) }],
      });
    });

    it("shows help (exit 0) for --help, and usage (exit 2) when a command is missing", async () => {
      const [help, bare, group] = await Promise.all([
        latchkey(["token", "rotate", "--help"]),
        latchkey([]),
        latchkey(["token"]),
      ]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("Usage: latchkey token rotate [options] <id>");
      expect(help.stdout).toContain("Examples:");
      expect(bare.code).toBe(2);
      expect(bare.stderr).toContain("Usage: latchkey [options] [command]");
      expect(group.code).toBe(2);
      expect(group.stderr).toContain("Usage: latchkey token [options] [command]");
    });

    it("distinct exit statuses for unauthenticated (3), not found (4), denied (5), conflict (6), unreachable (7)", async () => {
      const closedPort = await freePort();
      const viewer = (await w.run(["sa", "create", "reader", "--json"])).json();
      expect(viewer.role).toBe("viewer");
      const readerToken = (
        await w.run(["token", "create", "--sa", "reader", "--name", "r", "--quiet"])
      ).stdout.trim();
      const [noToken, badToken, notFound, denied, conflict, unreachable] = await Promise.all([
        w.run(["whoami"], { env: { LATCHKEY_TOKEN: undefined } }),
        w.run(["whoami", "--token", "lk_0000000000000000000000000000000000000000000000000"]),
        w.run(["sa", "get", "nobody"]),
        w.run(["sa", "create", "x"], { env: { LATCHKEY_TOKEN: readerToken } }),
        w.run(["sa", "create", "deployer"]),
        w.run(["whoami", "--addr", `http://127.0.0.1:${closedPort}`]),
      ]);
      expect([noToken, badToken, notFound, denied, conflict, unreachable].map((r) => r.code)).toEqual([
        3, 3, 4, 5, 6, 7,
      ]);
      expect(noToken.stderr).toContain(
        "latchkey: not logged in: no token for this server (not_logged_in)\nhint: run `latchkey login`",
      );
      expect(badToken.stderr).toMatch(/\(token_invalid\)\nhint: /);
      expect(notFound.stderr).toMatch(/\(not_found\)\nhint: check the name or id/);
      expect(denied.stderr).toMatch(/\(permission_denied\)\nhint: /);
      expect(conflict.stderr).toMatch(/\(already_exists\)\nhint: choose another name/);
      expect(unreachable.stderr).toContain(
        `cannot reach the Latchkey server at http://127.0.0.1:${closedPort}: connection refused (unreachable)`,
      );
    });
  },
);
