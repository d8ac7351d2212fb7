/**
 * The floor: a bare Fastify (the version Latchkey runs on) with two routes returning a small JSON
 * object, and nothing else (no schemas, no hooks, no logging). Prints its port on stdout.
 */
import Fastify from "fastify";

const app = Fastify({ logger: false });
app.get("/floor", async () => ({ ok: true, service: "floor" }));
app.post("/floor", async (request) => ({
  ok: true,
  echo: (request.body as { n?: number } | null)?.n ?? null,
}));
const address = await app.listen({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0) });
process.stdout.write(`LISTENING ${new URL(address).port}\n`);
const stop = () => void app.close().then(() => process.exit(0));
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
