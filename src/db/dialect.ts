import type { Executor } from "./database.ts";

/** Tables whose rows are numbered seq = last + 1 (and, for the audit log, hash-chained to the last). */
export type ChainName = "audit_events" | "revocation_events" | "signing_keys";

/**
 * What a node keeps in memory and must re-read when another node changes it: `revocations` wakes
 * the revocation feed's subscribers, `signing_keys` reloads the key ring.
 */
export const CHANGE_TOPICS = ["revocations", "signing_keys"] as const;
export type ChangeTopic = (typeof CHANGE_TOPICS)[number];

/**
 * The engine quirks that the queries, written once, cannot hide. Everything else (connection setup)
 * is in the dialect's own file: sqlite.ts, postgres.ts.
 */
export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /** Where Kysely's migration tables live: the PostgreSQL schema, or the connection's default. */
  readonly schema: string | undefined;
  /**
   * Holds `chain` until the transaction ends, so that appends computing seq = last + 1 never
   * interleave, whichever process of the deployment makes them.
   */
  lockChain(trx: Executor, chain: ChainName): Promise<void>;
  /** Tells every other node that `topic` changed, when (and only if) the transaction commits. */
  notifyChange(trx: Executor, topic: ChangeTopic): Promise<void>;
  /** A failure that a fresh attempt of the whole transaction may not meet (deadlock, lost race). */
  isTransient(error: unknown): boolean;
}

/** One connection, one process: SQLite already runs one transaction at a time. */
export const sqliteDialect: StoreDialect = {
  name: "sqlite",
  schema: undefined,
  lockChain: async () => undefined,
  notifyChange: async () => undefined,
  isTransient: () => false,
};

// Keyed by the dialect adapter, which a database and all its transactions share.
const dialects = new WeakMap<object, StoreDialect>();

/** Called by the functions that open a store. */
export function registerDialect(db: Executor, dialect: StoreDialect): void {
  dialects.set(db.getExecutor().adapter, dialect);
}

/** The quirks of the store `db` (a database or one of its transactions) belongs to. */
export function dialectOf(db: Executor): StoreDialect {
  const adapter = db.getExecutor().adapter;
  const dialect = dialects.get(adapter);
  if (dialect) return dialect;
  if (adapter.constructor.name === "PostgresAdapter") {
    throw new Error("a PostgreSQL store must be opened with openStore(), which knows its quirks");
  }
  return sqliteDialect;
}
