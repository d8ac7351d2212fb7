import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import secureJson from "secure-json-parse";
import { type AuditLog, ChainedAuditLog } from "../audit/log.ts";
import { auditRoutes } from "../audit/routes.ts";
import { AuditEvent, ChainVerification } from "../audit/schemas.ts";
import { FailedAuthLimiter } from "../auth/rate-limit.ts";
import { authCheckRoutes } from "../auth/check.ts";
import { whoamiRoutes } from "../auth/routes.ts";
import { boundObjectRoutes } from "../bound-objects/routes.ts";
import { discoveryRoutes, signingKeyRoutes } from "../keys/routes.ts";
import { tokenReviewRoutes } from "../kubernetes/token-review.ts";
import { oauthRoutes } from "../oauth/routes.ts";
import { revocationRoutes } from "../revocations/routes.ts";
import { tokenRequestRoutes } from "../token-requests/routes.ts";
import type { Db } from "../db/database.ts";
import { KeyRing, type SigningAlgorithm } from "../keys/key-ring.ts";
import type { MasterKey } from "../keys/master-key.ts";
import { RevocationFeed } from "../revocations/feed.ts";
import { contextOf, requireBearer } from "../http/authentication.ts";
import { healthRoutes } from "../http/health.ts";
import { Metrics } from "../http/metrics.ts";
import { installProblemHandling, sendProblem, toApiError } from "../http/problem.ts";
import { Problem } from "../http/schemas.ts";
import { installValidation } from "../http/validation.ts";
import { type Clock, systemClock } from "../lib/clock.ts";
import { ApiError, invalidField } from "../lib/errors.ts";
import { newId } from "../lib/ids.ts";
import { projectRoutes } from "../projects/routes.ts";
import { Project } from "../projects/schemas.ts";
import { serviceAccountRoutes } from "../service-accounts/routes.ts";
import { ServiceAccount } from "../service-accounts/schemas.ts";
import { tokenRoutes } from "../tokens/routes.ts";
import { uiRoutes } from "../ui/routes.ts";
import { IssuedToken, RotatedToken, Token } from "../tokens/schemas.ts";
import { DeniedError, type Deps, defaultPolicy, type Policy, recordDenial } from "./deps.ts";
import { optionalEmptyBodies } from "../http/openapi.ts";
import { duplicateMember, refuseCredentialsInUrl } from "../http/strict-input.ts";
import { redactTokenLookalikes } from "../tokens/format.ts";
import { makeServices, type Services } from "./services.ts";

export interface AppOptions {
  db: Db;
  /** Wraps the signing keys at rest (see keys/master-key.ts). */
  masterKey: MasterKey;
  signingAlgorithm?: SigningAlgorithm;
  /** `iss` of issued JWTs; defaults to http://127.0.0.1:8080. */
  issuer?: string;
  clock?: Clock;
  policy?: Partial<Policy>;
  /** Replaces the audit log (tests inject failures with it). */
  audit?: (clock: Clock) => AuditLog;
  logger?: FastifyBaseLogger | false;
  /** Failed authentications allowed per client address per window. */
  failedAuthLimit?: { maxFailures: number; windowSeconds: number };
  bodyLimitBytes?: number;
  trustProxy?: boolean | string;
}

export interface Latchkey {
  app: FastifyInstance;
  deps: Deps;
  services: Services;
  metrics: Metrics;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/** Builds the whole HTTP application without listening; `main` alone reads the environment. */
export async function buildApp(options: AppOptions): Promise<Latchkey> {
  const clock = options.clock ?? systemClock;
  const policy = { ...defaultPolicy, ...options.policy };
  const keys = new KeyRing(options.db, options.masterKey, clock, {
    algorithm: options.signingAlgorithm ?? "ES256",
    maxShortLivedSeconds: policy.maxTokenRequestSeconds,
  });
  await keys.load();
  const deps: Deps = {
    db: options.db,
    clock,
    audit: options.audit ? options.audit(clock) : new ChainedAuditLog(clock),
    policy,
    keys,
    issuer: (options.issuer ?? "http://127.0.0.1:8080").replace(/\/+$/, ""),
    revocations: new RevocationFeed(options.db, clock),
  };
  const services = makeServices(deps);
  const metrics = new Metrics();
  const limits = options.failedAuthLimit ?? { maxFailures: 20, windowSeconds: 60 };
  const limiter = new FailedAuthLimiter(clock, limits.maxFailures, limits.windowSeconds);

  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    bodyLimit: options.bodyLimitBytes ?? 64 * 1024,
    trustProxy: options.trustProxy ?? false,
    genReqId: () => newId(),
    ajv: { customOptions: { removeAdditional: false } },
    // Malformed percent-encoding and overlong path parameters are refused by the router itself.
    frameworkErrors: (error, request, reply) => sendProblem(request, reply, toApiError(error)),
  }).withTypeProvider<TypeBoxTypeProvider>();

  installValidation(app);
  installProblemHandling(app);
  // Tokens only in headers (and bodies where a route says so): never in a URL, on any route.
  app.addHook("onRequest", async (request) => refuseCredentialsInUrl(request.url));
  // Denials are audited here, once, whichever layer refused and whatever transaction rolled back.
  app.addHook("onError", async (request, _reply, error) => {
    if (!(error instanceof DeniedError)) return;
    try {
      await recordDenial(deps, request.ctx ?? contextOf(request), error);
    } catch (auditError) {
      request.log.error({ err: auditError }, "could not record a denial in the audit log");
    }
  });
  app.removeContentTypeParser("text/plain");
  app.removeContentTypeParser("application/json");
  // Bytes, not a string: decoding as a string would silently turn bad UTF-8 into U+FFFD and store it.
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, body, done) => {
    let text: string;
    let value: unknown;
    try {
      text = utf8.decode(body as Buffer);
    } catch {
      return done(new ApiError("invalid_json", "the body is not valid UTF-8"), undefined);
    }
    if (text === "") return done(null, undefined);
    try {
      value = JSON.parse(text);
    } catch {
      return done(new ApiError("invalid_json", "the body is not valid JSON"), undefined);
    }
    const duplicate = duplicateMember(text);
    if (duplicate !== undefined) {
      // Named, but never echoed if it could be a secret, and never at length.
      const field = redactTokenLookalikes(duplicate).slice(0, 128);
      return done(invalidField(field, "this member name occurs twice in one object"), undefined);
    }
    if (typeof value === "object" && value !== null) {
      try {
        secureJson.scan(value, { protoAction: "error", constructorAction: "error" });
      } catch {
        const detail = "the body has a __proto__ or constructor.prototype key, which is never accepted";
        return done(new ApiError("invalid_json", detail), undefined);
      }
    }
    done(null, value);
  });
  // An absent body is an empty object, so "missing field" errors name the field.
  app.addHook("preValidation", async (request) => {
    if (request.body === undefined && ["POST", "PATCH", "PUT"].includes(request.method)) request.body = {};
  });
  app.addHook("onSend", async (request, reply) => {
    reply.header("x-request-id", request.id);
    // no-store unless the route chose otherwise (the JWKS may be cached for a minute).
    if (!reply.hasHeader("cache-control")) reply.header("cache-control", "no-store");
  });

  for (const schema of [
    Problem,
    Project,
    ServiceAccount,
    Token,
    IssuedToken,
    RotatedToken,
    AuditEvent,
    ChainVerification,
  ]) {
    app.addSchema(schema);
  }
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Latchkey",
        version: "0.1.0",
        description: "Service accounts and API tokens for machines",
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      security: [{ bearer: [] }],
    },
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    transformObject: (document) =>
      "openapiObject" in document ? optionalEmptyBodies(document.openapiObject) : document.swaggerObject,
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  metrics.install(app);
  healthRoutes(app, deps.db);

  await app.register(async (v1) => {
    requireBearer(v1, deps, limiter, metrics);
    await v1.register(whoamiRoutes);
    await v1.register(projectRoutes, { services });
    await v1.register(serviceAccountRoutes, { services });
    await v1.register(tokenRoutes, { services });
    await v1.register(auditRoutes, { services });
    await v1.register(signingKeyRoutes, { deps });
    await v1.register(boundObjectRoutes, { deps });
    await v1.register(tokenRequestRoutes, { deps });
    await v1.register(revocationRoutes, { deps });
    await v1.register(tokenReviewRoutes, { deps });
  });
  // Outside the bearer context: public discovery, OAuth (its own client authentication), proxy checks.
  await app.register(discoveryRoutes, { deps });
  await app.register(oauthRoutes, { deps, limiter });
  await app.register(authCheckRoutes, { deps });
  // The web UI: its session endpoints and static app (hidden from the OpenAPI document).
  await app.register(uiRoutes, { deps, limiter, metrics });

  // Revocation events and revoked JWT ids are kept only while a token they concern could be valid.
  const pruning = setInterval(() => {
    deps.revocations
      .prune()
      .catch((error) => app.log.warn({ err: error }, "pruning the revocation feed failed"));
  }, PRUNE_INTERVAL_MS).unref();
  app.addHook("onClose", async () => clearInterval(pruning));

  await app.ready();
  return { app, deps, services, metrics };
}
