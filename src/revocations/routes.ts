import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Deps } from "../server/deps.ts";
import type { RevocationEvent } from "./feed.ts";

const KEEPALIVE_MS = 15_000;

const frame = (event: RevocationEvent) =>
  `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ ...event.data, time: event.time })}\n\n`;

/**
 * Server-Sent Events of what offline verifiers must know: revoked token ids (with the instant they
 * stop working), disabled service accounts, invalidated bound objects and key rotations. A client
 * resumes with `Last-Event-ID`; without it, it first gets every event that still matters.
 */
export const revocationRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  app.get(
    "/v1/revocations/stream",
    {
      schema: {
        tags: ["verification"],
        summary: "Revocation feed (text/event-stream), resumable with Last-Event-ID",
      },
    },
    async (request, reply) => {
      const header = request.headers["last-event-id"];
      const resumeFrom = typeof header === "string" && /^\d{1,15}$/.test(header) ? Number(header) : undefined;
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-store",
        connection: "keep-alive",
        "x-request-id": request.id,
      });
      raw.write("retry: 1000\n\n");
      let last = resumeFrom;
      if (last === undefined) {
        // A new subscriber: every event that still matters, up to now; then everything after.
        const newest = await deps.db
          .selectFrom("revocation_events")
          .select((eb) => eb.fn.max("seq").as("m"))
          .executeTakeFirst();
        const upTo = Number(newest?.m ?? 0);
        for (const event of await deps.revocations.since(undefined, Number.MAX_SAFE_INTEGER)) {
          if (event.id <= upTo) raw.write(frame(event));
        }
        last = upTo;
      }
      let busy = false;
      let again = false;
      const pump = async () => {
        if (busy) {
          again = true;
          return;
        }
        busy = true;
        try {
          do {
            again = false;
            for (;;) {
              const events = await deps.revocations.since(last);
              for (const event of events) {
                raw.write(frame(event));
                last = event.id;
              }
              if (events.length < 1000) break;
            }
          } while (again);
        } catch (error) {
          request.log.error({ err: error }, "revocation stream failed");
          raw.end();
        } finally {
          busy = false;
        }
      };
      const stop = deps.revocations.onAppended(() => void pump());
      const keepalive = setInterval(() => raw.write(": keepalive\n\n"), KEEPALIVE_MS);
      raw.on("close", () => {
        stop();
        clearInterval(keepalive);
      });
      await pump();
    },
  );
};
