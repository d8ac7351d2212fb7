import { randomUUID } from "node:crypto";
import { Kysely, PostgresDialect, type PostgresPool, type PostgresPoolClient, sql } from "kysely";
import pg from "pg";
import type { Executor, Store, StoreLog } from "./database.ts";
import { type ChainName, type ChangeTopic, registerDialect, type StoreDialect } from "./dialect.ts";
import { StoreUnavailableError } from "./errors.ts";
import { prepareOnEveryConnection, preparedStatementName } from "./prepared.ts";
import type { Database } from "./schema.ts";
import type { PostgresTarget } from "./url.ts";

/** SQLSTATE classes and codes, and driver errors, that mean "cannot reach the store" (not "bad query"). */
const UNAVAILABLE_STATES = new Set(["57P01", "57P02", "57P03", "53300", "53400"]);
const UNAVAILABLE_ERRNOS = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
]);
const UNAVAILABLE_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Query read timeout|connection timeout/i;

export function isUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("08") || UNAVAILABLE_STATES.has(code))) return true;
  if (typeof code === "string" && UNAVAILABLE_ERRNOS.has(code)) return true;
  return UNAVAILABLE_MESSAGES.test(error.message);
}

const asStoreError = (error: unknown): unknown =>
  isUnavailable(error) && !(error instanceof StoreUnavailableError)
    ? new StoreUnavailableError(error)
    : error;

/** deadlock_detected, serialization_failure, unique_violation (a check-then-insert that lost a race). */
const TRANSIENT_STATES = new Set(["40P01", "40001", "23505"]);

class PostgresQuirks implements StoreDialect {
  readonly name = "postgres";

  constructor(
    readonly schema: string,
    readonly channel: string,
    readonly nodeId: string,
  ) {}

  async lockChain(trx: Executor, chain: ChainName): Promise<void> {
    // Released by commit or rollback. Keyed per schema, so deployments sharing a database stay apart.
    const key = `latchkey:${this.schema}:${chain}`;
    await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
  }

  async notifyChange(trx: Executor, topic: ChangeTopic): Promise<void> {
    // Delivered at commit, to every session listening on the channel (ours filters its own).
    const payload = JSON.stringify({ topic, node: this.nodeId });
    await sql`select pg_notify(${this.channel}, ${payload})`.execute(trx);
  }

  isTransient(error: unknown): boolean {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "string" && TRANSIENT_STATES.has(code);
  }
}

// Every change and denial takes the audit chain's lock: planned once per connection (the text above).
prepareOnEveryConnection("select pg_advisory_xact_lock(hashtext($1))");

export interface PostgresOptions {
  /** Connections per process (default 10). */
  poolMax?: number;
  /** How long to wait for a connection before answering 503 (default 3 s). */
  connectTimeoutMs?: number;
  log?: StoreLog;
}

/** int8 (COUNT, MAX, bigint columns) as a JS number, as SQLite returns it; every value here is far below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/**
 * Registered hot-path queries (src/db/prepared.ts) run as named prepared statements. If a newer node
 * adds a column to `tokens` under a running one, PostgreSQL refuses a prepared `tokens.*` once
 * ("cached plan must not change result type", 0A000): that query fails, and from then on this node
 * plans them each time.
 */
let preparing = true;

/**
 * A PostgreSQL store: a pool for queries, and on demand one more connection for LISTEN. The pool
 * never throws a connection failure at a caller as anything but StoreUnavailableError (503), and
 * survives PostgreSQL going away: broken connections are dropped and new ones made on demand.
 */
export function openPostgres(target: PostgresTarget, options: PostgresOptions = {}): Store {
  const log = options.log;
  const base: pg.ClientConfig = {
    connectionString: target.connectionString,
    keepAlive: true,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 3000,
    types,
  };
  const pool = new pg.Pool({ ...base, max: options.poolMax ?? 10, idleTimeoutMillis: 30_000 });
  // An idle connection that PostgreSQL closed (restart, failover): the pool drops it; never a crash.
  pool.on("error", (error) => log?.warn({ err: error }, "an idle store connection failed; it was dropped"));
  // A connection in use that fails between two queries emits "error" too; the next query reports it.
  pool.on("connect", (client) => client.on("error", () => undefined));

  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let wrapper = wrappers.get(client);
    if (!wrapper) {
      wrapper = {
        query: ((text: unknown, parameters?: unknown[]) => {
          if (typeof text !== "string") return client.query(text as pg.Submittable);
          const name = preparing ? preparedStatementName(text) : undefined;
          const run = name
            ? client.query({ name, text, values: parameters })
            : client.query(text, parameters);
          return run.catch((error: unknown) => {
            if (name && (error as { code?: unknown }).code === "0A000") preparing = false;
            throw asStoreError(error);
          });
        }) as unknown as PostgresPoolClient["query"],
        // The pool replaces `release` on every checkout: look it up each time.
        release: () => client.release(),
      };
      wrappers.set(client, wrapper);
    }
    return wrapper;
  };
  const kyselyPool: PostgresPool = {
    connect: async () => {
      try {
        return wrap(await pool.connect());
      } catch (error) {
        throw asStoreError(error);
      }
    },
    end: () => pool.end(),
  };

  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: kyselyPool }) });
  const dialect = new PostgresQuirks(target.schema, `latchkey:${target.schema}`, randomUUID());
  registerDialect(db, dialect);
  return {
    db,
    dialect,
    location: target.display,
    nodeId: dialect.nodeId,
    listen: {
      channel: dialect.channel,
      connect: async () => {
        const client = new pg.Client({ ...base, keepAliveInitialDelayMillis: 5000 });
        client.on("error", () => undefined); // the listener watches "end"; errors are logged there
        try {
          await client.connect();
        } catch (error) {
          client.end().catch(() => undefined);
          throw asStoreError(error);
        }
        return client;
      },
    },
    close: () => db.destroy(),
  };
}
