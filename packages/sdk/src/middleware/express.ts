import type { RequestHandler } from "express";
import type { AccessTokenClaims } from "../jwt/claims.ts";
import { authenticate, type BearerAuthOptions } from "./bearer.ts";

declare module "express-serve-static-core" {
  interface Request {
    /** The verified token's claims, set by latchkeyMiddleware. */
    latchkey?: AccessTokenClaims;
  }
}

export type { BearerAuthOptions } from "./bearer.ts";
export type { AccessTokenClaims } from "../jwt/claims.ts";

/**
 * Express middleware (Express 4 and 5) that takes the bearer token, verifies it (offline with a
 * verifier, or by introspection) and puts its claims on `req.latchkey`; otherwise it answers 401 with
 * `WWW-Authenticate: Bearer` (or 503 when the token cannot be checked right now).
 *
 * @example
 *
 * ```ts
 * import express from "express";
 * import { createVerifier } from "@latchkey/sdk";
 * import { latchkeyMiddleware } from "@latchkey/sdk/express";
 *
 * const verifier = createVerifier({ issuer, audience: "https://orders.example.com", revocationFeed: { token } });
 * const app = express();
 * app.use("/api", latchkeyMiddleware({ verifier }));
 * app.get("/api/orders", (req, res) => res.json(listOrders(req.latchkey!.project)));
 * ```
 */
export function latchkeyMiddleware(options: BearerAuthOptions): RequestHandler {
  return (req, res, next) => {
    // Not an async function: Express 4 would not see its rejection.
    authenticate(req.headers.authorization, options).then((result) => {
      if (result.ok) {
        req.latchkey = result.claims;
        return next();
      }
      const { status, headers, body } = result.refusal;
      res.status(status).set(headers).send(JSON.stringify(body));
    }, next);
  };
}
