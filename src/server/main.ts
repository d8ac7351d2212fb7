import type { FastifyRequest } from "fastify";
import pino from "pino";
import { migrate, openSqlite } from "../db/database.ts";
import { redactTokenLookalikes } from "../tokens/format.ts";
import { loadMasterKey } from "../keys/master-key.ts";
import { buildApp } from "./app.ts";
import { BOOTSTRAP_TOKEN_FILE, bootstrap } from "./bootstrap.ts";
import type { ServerConfig } from "./config.ts";

/** Paths that could ever hold a secret are censored before a log line is written. */
export const LOG_REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "token",
  "*.token",
  "secret",
  "*.secret",
];

/**
 * How a request appears in the log (replaces Fastify's serializer, which logs `req.url` verbatim).
 * The query string is never logged, since clients put credentials there (`?access_token=`), and
 * anything token-shaped in the path is redacted.
 */
export function requestLogView(req: FastifyRequest) {
  const [path = "", query] = req.url.split("?", 2);
  return {
    method: req.method,
    url: redactTokenLookalikes(path) + (query === undefined ? "" : "?[redacted]"),
    host: req.host,
    remoteAddress: req.ip,
    remotePort: req.socket?.remotePort,
  };
}

/** Opens the store, migrates, bootstraps, listens; stops cleanly on SIGINT/SIGTERM. */
export async function runServer(config: ServerConfig): Promise<void> {
  const logger = pino({
    level: config.logLevel,
    redact: { paths: LOG_REDACT_PATHS, censor: "[redacted]" },
    serializers: { req: requestLogView },
  });
  const db = openSqlite(config.dataDir);
  const applied = await migrate(db);
  logger.info({ migrations: applied.length, data_dir: config.dataDir }, "store ready (SQLite)");
  const master = loadMasterKey(process.env, config.dataDir);
  if (master.generated) {
    logger.warn(
      { file: master.source },
      "GENERATED A NEW MASTER KEY next to the database. It encrypts the signing keys: back it up apart from the " +
        "data, or set LATCHKEY_MASTER_KEY / LATCHKEY_MASTER_KEY_FILE. Whoever has both can sign tokens.",
    );
  }
  const { app, deps } = await buildApp({
    db,
    logger,
    masterKey: master.key,
    issuer: config.issuer,
    signingAlgorithm: config.signingAlgorithm,
    policy: {
      maxTokenTtlSeconds: config.maxTokenTtlSeconds,
      maxTokenRequestSeconds: config.maxTokenRequestSeconds,
    },
    trustProxy: config.trustProxy,
  });
  const secret = await bootstrap(deps, config.dataDir);
  if (secret) {
    // The one time this secret is shown; it is also in the 0600 file next to the database.
    process.stdout.write(
      `\nFirst start: created project "default" and the organization owner "bootstrap".\n` +
        `Bootstrap token (shown once, also saved to ${config.dataDir}/${BOOTSTRAP_TOKEN_FILE}):\n\n  ${secret}\n\n`,
    );
  }
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address }, "latchkey listening");
  const stop = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await app.close();
    await db.destroy();
    process.exit(0);
  };
  process.once("SIGINT", () => void stop("SIGINT"));
  process.once("SIGTERM", () => void stop("SIGTERM"));
}
