import type { FastifyInstance } from "fastify";
import { sql } from "kysely";
import type { Db } from "../db/database.ts";
import { ApiError } from "../lib/errors.ts";

export function healthRoutes(app: FastifyInstance, db: Db): void {
  app.get("/healthz", { schema: { tags: ["health"], summary: "Liveness" } }, async () => ({ status: "ok" }));
  app.get("/readyz", { schema: { tags: ["health"], summary: "Readiness: the store answers" } }, async () => {
    try {
      await sql`select 1`.execute(db);
    } catch {
      throw new ApiError("unavailable");
    }
    return { status: "ready" };
  });
}
