import { parseStoreUrl, StoreUrlError } from "../db/url.ts";
import { SIGNING_ALGORITHMS, type SigningAlgorithm } from "../keys/key-ring.ts";
import { parseDuration } from "../lib/duration.ts";
import { defaultPolicy } from "./deps.ts";

export interface ServerConfig {
  issuer: string;
  signingAlgorithm: SigningAlgorithm;
  maxTokenRequestSeconds: number;
  host: string;
  port: number;
  dataDir: string;
  /** LATCHKEY_DATABASE_URL: postgres://… (or sqlite:PATH); the SQLite file in dataDir when absent. */
  databaseUrl: string | undefined;
  maxTokenTtlSeconds: number;
  logLevel: string;
  trustProxy: boolean;
  /** LATCHKEY_FAILED_AUTH_LIMIT "20/60s": failed authentications per client address per window, per node. */
  failedAuthLimit: { maxFailures: number; windowSeconds: number };
}

export class ConfigError extends Error {}

/** "127.0.0.1:8080", "[::1]:8080" or ":8080". */
export function parseListen(text: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new ConfigError(`listen address "${text}" is not HOST:PORT`);
  return { host: match[1] ?? (match[2] || "0.0.0.0"), port };
}

/** Flags win over LATCHKEY_* environment variables, which win over defaults. */
export function serverConfig(
  flags: { listen?: string; dataDir?: string; maxTokenTtl?: string; databaseUrl?: string },
  env: NodeJS.ProcessEnv,
): ServerConfig {
  const listen = parseListen(flags.listen ?? env.LATCHKEY_LISTEN ?? "127.0.0.1:8080");
  const ttlText = flags.maxTokenTtl ?? env.LATCHKEY_MAX_TOKEN_TTL;
  const maxTokenTtlSeconds =
    ttlText === undefined ? defaultPolicy.maxTokenTtlSeconds : parseDuration(ttlText);
  if (maxTokenTtlSeconds === undefined || maxTokenTtlSeconds < 600) {
    throw new ConfigError(`max token TTL "${ttlText}" must be a duration of at least 600s, like 366d`);
  }
  const algorithm = env.LATCHKEY_SIGNING_ALG ?? "ES256";
  if (!(SIGNING_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw new ConfigError(
      `LATCHKEY_SIGNING_ALG "${algorithm}" must be one of ${SIGNING_ALGORITHMS.join(", ")}`,
    );
  }
  const requestText = env.LATCHKEY_MAX_TOKEN_REQUEST_TTL;
  const maxTokenRequestSeconds =
    requestText === undefined ? defaultPolicy.maxTokenRequestSeconds : parseDuration(requestText);
  if (maxTokenRequestSeconds === undefined || maxTokenRequestSeconds < 600) {
    throw new ConfigError(
      `LATCHKEY_MAX_TOKEN_REQUEST_TTL "${requestText}" must be a duration of at least 600s`,
    );
  }
  const databaseUrl = flags.databaseUrl ?? (env.LATCHKEY_DATABASE_URL || undefined);
  if (databaseUrl !== undefined) {
    try {
      parseStoreUrl(databaseUrl);
    } catch (error) {
      if (error instanceof StoreUrlError) throw new ConfigError(`LATCHKEY_DATABASE_URL: ${error.message}`);
      throw error;
    }
  }
  const limitText = env.LATCHKEY_FAILED_AUTH_LIMIT ?? "20/60s";
  const limit = /^(\d{1,9})\/(\w+)$/.exec(limitText);
  const windowSeconds = limit?.[2] === undefined ? undefined : parseDuration(limit[2]);
  if (!limit || !windowSeconds || Number(limit[1]) < 1) {
    throw new ConfigError(`LATCHKEY_FAILED_AUTH_LIMIT "${limitText}" must be FAILURES/WINDOW, like 20/60s`);
  }
  const host = listen.host.includes(":")
    ? `[${listen.host}]`
    : listen.host === "0.0.0.0"
      ? "127.0.0.1"
      : listen.host;
  return {
    ...listen,
    issuer: (env.LATCHKEY_ISSUER ?? `http://${host}:${listen.port}`).replace(/\/+$/, ""),
    signingAlgorithm: algorithm as SigningAlgorithm,
    maxTokenRequestSeconds,
    dataDir: flags.dataDir ?? env.LATCHKEY_DATA_DIR ?? "./data",
    databaseUrl,
    maxTokenTtlSeconds,
    logLevel: env.LATCHKEY_LOG_LEVEL ?? "info",
    trustProxy: env.LATCHKEY_TRUST_PROXY === "true",
    failedAuthLimit: { maxFailures: Number(limit[1]), windowSeconds },
  };
}
