/**
 * The floor: a bare Fastify (the version Latchkey runs on) with two routes returning a small JSON
 * object, and nothing else (no schemas, no hooks, no logging). Prints its port on stdout.
 *
 * With BENCH_FLOOR_DB (a seeded Latchkey SQLite file, opened read-only), a third route is the
 * least an introspection can do on that store: `POST /introspect` finds the caller's token and
 * the token asked about by the SHA-256 of each (the two indexed lookups every RFC 7662 answer
 * needs), and answers `{"active":…,"jti":…}` from the token rows alone. No account or project
 * join, no audit, no metrics, no limiter, no validation: a ceiling, not a product.
 */
import { createHash } from "node:crypto";
import SQLite from "better-sqlite3";
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/floor", async () => ({ ok: true, service: "floor" }));
app.post("/floor", async (request) => ({
  ok: true,
  echo: (request.body as { n?: number } | null)?.n ?? null,
}));

const dbFile = process.env.BENCH_FLOOR_DB;
if (dbFile) {
  const db = new SQLite(dbFile, { readonly: true });
  const byDigest = db.prepare<[string], { id: string; revoked_at: string | null; expires_at: string }>(
    "SELECT id, revoked_at, expires_at FROM tokens WHERE digest = ?",
  );
  const live = (secret: string | null | undefined) => {
    if (!secret) return undefined;
    const row = byDigest.get(createHash("sha256").update(secret).digest("hex"));
    return row && row.revoked_at === null && row.expires_at > new Date().toISOString() ? row : undefined;
  };
  app.addContentTypeParser("application/x-www-form-urlencoded", { parseAs: "string" }, (_r, body, done) =>
    done(null, new URLSearchParams(body as string)),
  );
  app.post("/introspect", async (request, reply) => {
    const caller = live(/^Bearer (\S+)$/.exec(request.headers.authorization ?? "")?.[1]);
    if (!caller) return reply.code(401).send({ error: "invalid_client" });
    const token = live((request.body as URLSearchParams).get("token"));
    return token ? { active: true, jti: token.id } : { active: false };
  });
}

const address = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
process.stdout.write(`LISTENING ${new URL(address).port}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
