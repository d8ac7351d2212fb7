import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Deps } from "../server/deps.ts";
import type { RevocationEvent } from "./feed.ts";

const KEEPALIVE_MS = 15_000;

const frame = (event: RevocationEvent) =>
  `id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify({ ...event.data, time: event.time })}\n\n`;

/**
 * Server-Sent Events of what offline verifiers must know: revoked token ids (with the instant they
 * stop working), disabled service accounts, invalidated bound objects and key rotations. A client
 * resumes with `Last-Event-ID`; without it, it first gets every event that still matters. Then a
 * `ready` event marks the end of that catch-up (as Kubernetes' initial-events-end bookmark does).
 */
export const revocationRoutes: FastifyPluginAsyncTypebox<{ deps: Deps }> = async (app, { deps }) => {
  // A stream never ends by itself: end every one when the server closes, or close() waits forever.
  const streams = new Set<() => void>();
  app.addHook("preClose", async () => {
    for (const end of streams) end();
  });
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
      // Busy until the catch-up below is written: wake-ups meanwhile only ask for one more pump.
      let busy = true;
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
                if (raw.writableEnded) return; // the server is closing
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
      const end = () => {
        stop();
        clearInterval(keepalive);
        streams.delete(end);
        if (!raw.writableEnded && !raw.destroyed) raw.end();
      };
      streams.add(end);
      raw.on("close", end);
      try {
        if (last === undefined) {
          // A new subscriber: every event that still matters, up to now; then everything after.
          const newest = await deps.db
            .selectFrom("revocation_events")
            .select((eb) => eb.fn.max("seq").as("m"))
            .executeTakeFirst();
          const upTo = Number(newest?.m ?? 0);
          for (const event of await deps.revocations.since(undefined, Number.MAX_SAFE_INTEGER)) {
            if (event.id <= upTo && !raw.writableEnded) raw.write(frame(event));
          }
          last = upTo;
        }
      } catch (error) {
        request.log.error({ err: error }, "revocation stream failed");
        return end();
      } finally {
        busy = false;
      }
      await pump();
      // The end of the catch-up: every event committed before the subscriber connected (or after its
      // Last-Event-ID) is above this line, so a verifier can say it is ready. No id: it moves nothing.
      if (!raw.writableEnded)
        raw.write(`event: ready\ndata: ${JSON.stringify({ last_event_id: last ?? 0 })}\n\n`);
    },
  );
};
