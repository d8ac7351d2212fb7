import { ApiError } from "../lib/errors.ts";

/**
 * The store cannot be reached (PostgreSQL stopped, restarting, unreachable, out of connections).
 * An ApiError, so every request that needs the store fails closed with 503 and a Retry-After,
 * whichever layer met it; the cause stays in the server log.
 */
export class StoreUnavailableError extends ApiError {
  constructor(override readonly cause: unknown) {
    super("unavailable", "the store is not reachable; try again shortly", {
      headers: { "retry-after": "2" },
    });
    this.name = "StoreUnavailableError";
  }
}
