import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import type { AccessTokenClaims } from "../jwt/claims.ts";
import { authenticate, type BearerAuthOptions } from "./bearer.ts";

declare module "fastify" {
  interface FastifyRequest {
    /** The verified token's claims, set by latchkeyPlugin or latchkeyPreHandler. */
    latchkey?: AccessTokenClaims;
  }
}

export type { BearerAuthOptions } from "./bearer.ts";
export type { AccessTokenClaims } from "../jwt/claims.ts";

/**
 * A Fastify hook that takes the bearer token, verifies it (offline with a verifier, or by
 * introspection) and puts its claims on `request.latchkey`; otherwise it answers 401 with
 * `WWW-Authenticate: Bearer` (or 503 when the token cannot be checked right now) and the route
 * never runs. Use it as a route's `preHandler` or `onRequest`.
 *
 * @example
 *
 * ```ts
 * import { createVerifier } from "@latchkey/sdk";
 * import { latchkeyPreHandler } from "@latchkey/sdk/fastify";
 *
 * const verifier = createVerifier({ issuer, audience: "https://orders.example.com" });
 * app.get("/orders", { preHandler: latchkeyPreHandler({ verifier }) }, async (request) => {
 *   return listOrders(request.latchkey!.project);
 * });
 * ```
 */
export function latchkeyPreHandler(
  options: BearerAuthOptions,
): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  return async (request, reply) => {
    const result = await authenticate(request.headers.authorization, options);
    if (result.ok) {
      request.latchkey = result.claims;
      return;
    }
    const { status, headers, body } = result.refusal;
    await reply.code(status).headers(headers).send(body);
  };
}

/**
 * A Fastify plugin that guards every route of the context it is registered in (it is not
 * encapsulated, like fastify-plugin's plugins): register it inside the plugin that holds your
 * protected routes, and keep public routes outside. It runs at `onRequest`, so the body of a request
 * without a good token is never read.
 *
 * @example
 *
 * ```ts
 * import Fastify from "fastify";
 * import { createVerifier } from "@latchkey/sdk";
 * import { latchkeyPlugin } from "@latchkey/sdk/fastify";
 *
 * const verifier = createVerifier({ issuer, audience: "https://orders.example.com", revocationFeed: { token } });
 * const app = Fastify();
 * app.get("/healthz", async () => ({ ok: true })); // public
 * await app.register(async (api) => {
 *   await api.register(latchkeyPlugin, { verifier });
 *   api.get("/orders", async (request) => listOrders(request.latchkey!.project));
 * });
 * app.addHook("onClose", () => verifier.close());
 * ```
 */
export const latchkeyPlugin: FastifyPluginAsync<BearerAuthOptions> = Object.assign(
  async (app: Parameters<FastifyPluginAsync<BearerAuthOptions>>[0], options: BearerAuthOptions) => {
    if (!app.hasRequestDecorator("latchkey")) app.decorateRequest("latchkey", undefined);
    app.addHook("onRequest", latchkeyPreHandler(options));
  },
  // What fastify-plugin sets: the hook applies to the registering context, not to a child of it.
  { [Symbol.for("skip-override")]: true, [Symbol.for("fastify.display-name")]: "@latchkey/sdk" },
);
