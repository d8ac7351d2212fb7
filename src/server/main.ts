import type { FastifyRequest } from "fastify";
import pino from "pino";
import { DatabaseClock } from "../cluster/clock.ts";
import { startClusterSync } from "../cluster/sync.ts";
import { migrate, openStore, type Store } from "../db/database.ts";
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
  const store = await openStore(
    { databaseUrl: config.databaseUrl, dataDir: config.dataDir },
    { log: logger },
  );
  const stops: (() => Promise<void>)[] = [() => store.close()];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
  };
  try {
    await serve(config, store, logger, stops);
  } catch (error) {
    // A refused start (newer schema, wrong master key, port taken) leaves no connection open behind it.
    await stopAll();
    throw error;
  }
  const shutdown = async (signal: string) => {
    logger.info({ signal }, "shutting down");
    await stopAll();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

async function serve(
  config: ServerConfig,
  store: Store,
  logger: pino.Logger,
  stops: (() => Promise<void>)[],
): Promise<void> {
  const db = store.db;
  const applied = await migrate(db);
  const engine = store.dialect.name === "postgres" ? "PostgreSQL" : "SQLite";
  logger.info(
    { migrations: applied.length, store: store.location, data_dir: config.dataDir, node: store.nodeId },
    `store ready (${engine})`,
  );
  const master = loadMasterKey(process.env, config.dataDir);
  if (master.generated) {
    logger.warn(
      { file: master.source },
      "GENERATED A NEW MASTER KEY next to the database. It encrypts the signing keys: back it up apart from the " +
        "data, or set LATCHKEY_MASTER_KEY / LATCHKEY_MASTER_KEY_FILE. Whoever has both can sign tokens." +
        (store.dialect.name === "postgres"
          ? " Every node sharing this PostgreSQL needs the same master key."
          : ""),
    );
  }
  // Several nodes share PostgreSQL: every deadline comes from its clock, not each node's own.
  let clock: DatabaseClock | undefined;
  if (store.dialect.name === "postgres") {
    const databaseClock = new DatabaseClock(db, logger);
    await databaseClock.start();
    stops.push(async () => databaseClock.stop());
    clock = databaseClock;
  }
  const { app, deps } = await buildApp({
    clock,
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
    failedAuthLimit: config.failedAuthLimit,
  });
  stops.push(() => app.close());
  const secret = await bootstrap(deps, config.dataDir);
  if (secret) {
    // The one time this secret is shown; it is also in the 0600 file next to the database.
    process.stdout.write(
      `\nFirst start: created project "default" and the organization owner "bootstrap".\n` +
        `Bootstrap token (shown once, also saved to ${config.dataDir}/${BOOTSTRAP_TOKEN_FILE}):\n\n  ${secret}\n\n`,
    );
  }
  // Other nodes' key rotations and revocations reach this one's memory (PostgreSQL LISTEN/NOTIFY).
  const cluster = await startClusterSync(store, deps, logger);
  stops.push(() => cluster.stop());
  const address = await app.listen({ host: config.host, port: config.port });
  logger.info({ address }, "latchkey listening");
}
