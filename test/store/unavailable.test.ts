import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { openStore, StoreUrlError } from "../../src/db/database.ts";
import { StoreUnavailableError } from "../../src/db/errors.ts";
import { isUnavailable } from "../../src/db/postgres.ts";
import { parseStoreUrl } from "../../src/db/url.ts";
import { DIALECTS } from "./dialects.ts";

describe("a PostgreSQL store that cannot be reached", () => {
  it("fails every query quickly with StoreUnavailableError: 503 with Retry-After, never a 500", async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const store = await openStore({ databaseUrl: "postgres://latchkey:secret@127.0.0.1:1/latchkey" });
    try {
      const started = performance.now();
      const error = await sql`select 1`.execute(store.db).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(performance.now() - started).toBeLessThan(1000);
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ code: "unavailable", status: 503, headers: { "retry-after": "2" } });
      expect((error as Error).message).not.toContain("secret");
      await expect(store.db.transaction().execute(async () => 1)).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    } finally {
      await store.close();
    }
  });

  it("tells connection failures from query failures", () => {
    const coded = (code: string, message = "x") => Object.assign(new Error(message), { code });
    for (const e of [
      coded("ECONNREFUSED"),
      coded("ECONNRESET"),
      coded("57P01", "terminating connection due to administrator command"),
      coded("57P03", "the database system is starting up"),
      coded("08006"),
      coded("53300", "sorry, too many clients already"),
      new Error("Connection terminated unexpectedly"),
      new Error("timeout exceeded when trying to connect"),
    ]) {
      expect(isUnavailable(e), e.message).toBe(true);
    }
    for (const e of [
      coded("42P01", 'relation "x" does not exist'),
      coded("23505"),
      coded("40P01"),
      new Error("boom"),
    ]) {
      expect(isUnavailable(e), e.message).toBe(false);
    }
  });
});

describe("store URLs", () => {
  it("PostgreSQL: a schema (default public) becomes the search path; the password never shows", () => {
    const target = parseStoreUrl("postgres://lk:pa55@db.internal:5432/latchkey?schema=prod&sslmode=require");
    expect(target).toMatchObject({ kind: "postgres", schema: "prod" });
    if (target.kind !== "postgres") throw new Error("unreachable");
    expect(target.display).toBe("postgres://lk:***@db.internal:5432/latchkey?schema=prod&sslmode=require");
    const url = new URL(target.connectionString);
    expect(url.searchParams.get("options")).toBe("-c search_path=prod");
    expect(url.searchParams.get("sslmode")).toBe("require");
    expect(url.searchParams.has("schema")).toBe(false);
    expect(parseStoreUrl("postgresql://lk@db/latchkey")).toMatchObject({ schema: "public" });
  });

  it("SQLite: a file, or latchkey.db in a directory", () => {
    expect(parseStoreUrl("sqlite:/var/lib/latchkey/latchkey.db")).toEqual({
      kind: "sqlite",
      file: "/var/lib/latchkey/latchkey.db",
    });
    expect(parseStoreUrl("sqlite:///srv/lk/")).toEqual({ kind: "sqlite", file: "/srv/lk/latchkey.db" });
    expect(parseStoreUrl("sqlite:./data/")).toEqual({ kind: "sqlite", file: "data/latchkey.db" });
  });

  it("refuses what it cannot open, saying what would do", () => {
    expect(() => parseStoreUrl("mysql://root:hunter2@db/lk")).toThrow(StoreUrlError);
    expect(() => parseStoreUrl("mysql://root:hunter2@db/lk")).not.toThrow(/hunter2/);
    expect(() => parseStoreUrl("postgres://db/lk?schema=Robert';drop")).toThrow(/lowercase identifier/);
    expect(() => parseStoreUrl("sqlite:")).toThrow(/needs a path/);
  });
});

describe.each(DIALECTS)("transient failures on $name", (dialect) => {
  it("only PostgreSQL retries (deadlocks, lost check-then-insert races); SQLite never meets them", async () => {
    const t = await dialect.create();
    try {
      const transient = ["40P01", "40001", "23505"].map((code) => Object.assign(new Error(code), { code }));
      for (const e of transient) expect(t.store.dialect.isTransient(e)).toBe(dialect.name === "postgres");
      expect(t.store.dialect.isTransient(Object.assign(new Error(), { code: "42P01" }))).toBe(false);
    } finally {
      await t.destroy();
    }
  });
});
