import { ApiError } from "../lib/errors.ts";

/**
 * The store cannot be reached (PostgreSQL stopped, restarting, unreachable, out of connections).
 * An ApiError, so every request that needs the store fails closed with 503 and a Retry-After,
 * whichever layer met it; the cause stays in the server log.
 */
export class StoreUnavailableError extends ApiError {
  constructor(override readonly cause: unknown) {
    super("unavailable", "the store is unreachable or too busy to answer in time; try again shortly", {
      headers: { "retry-after": "2" },
    });
    this.name = "StoreUnavailableError";
  }
}

/**
 * The store has no space left (SQLite `SQLITE_FULL`, PostgreSQL `disk_full`). The transaction was
 * rolled back as a whole, so nothing changed; reads go on, and writes work again once space returns.
 */
export class StorageFullError extends ApiError {
  constructor(override readonly cause: unknown) {
    super("storage_full", "the store has no space left; nothing was changed; try again later", {
      headers: { "retry-after": "30" },
    });
    this.name = "StorageFullError";
  }
}

/** SQLite's extended codes for "no space" start with SQLITE_FULL; PostgreSQL's SQLSTATE is 53100. */
export function isStorageFull(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && (code.startsWith("SQLITE_FULL") || code === "53100");
}
