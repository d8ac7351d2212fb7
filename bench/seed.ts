/**
 * Fills a Latchkey store with N token rows, fast: batched INSERTs in one transaction, through the
 * store's own connection, into the tokens table of src/db/schema.ts (every column, typed by it). Every row is
 * what the server itself would write: a real `lk_` secret from src/tokens/format.ts, and its SHA-256
 * digest. The secrets the workloads need (the verify pool, the tokens to revoke) are returned; the
 * rest are dropped, as the server drops them.
 */
import { CompiledQuery, type Transaction } from "kysely";
import type { Db } from "../src/db/database.ts";
import type { Database, TokenTable } from "../src/db/schema.ts";
import { generateOpaqueToken, tokenDigest } from "../src/tokens/format.ts";
import { newId } from "../src/lib/ids.ts";
import { TABLES } from "../src/store-transfer/tables.ts";

export interface SeedAccounts {
  /** The caller of every workload; its own tokens are the ones revoked (no admin check needed). */
  client: string;
  /** The account whose tokens are listed page by page. */
  list: string;
  /** Owners of the verify pool and of the filler rows. */
  fillers: string[];
}

export interface SeedPlan {
  total: number;
  /** Tokens of the list account. */
  listTokens: number;
  /** Size of the verify pool: 90% valid, 5% unknown (never stored), 5% revoked or expired. */
  pool: number;
  /** Tokens of the client account reserved for revoke-then-verify, and for the mixed load's revokes. */
  revocable: number;
  mixRevocable: number;
}

export interface PoolEntry {
  secret: string;
  /** The token id a correct answer names, or null when the answer must be "not valid". */
  id: string | null;
  kind: "valid" | "unknown" | "revoked" | "expired";
}

export interface SeedResult {
  pool: PoolEntry[];
  revocable: string[];
  mixRevocable: string[];
  rows: number;
  seconds: number;
}

const YEAR = 365 * 24 * 3600;

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/**
 * Every column of the tokens table, in one fixed order: the store transfer's list, which the
 * compiler keeps complete against src/db/schema.ts.
 */
const COLUMNS = TABLES.find((t) => t.name === "tokens")?.columns as readonly (keyof TokenTable)[];
const INTEGER_COLUMNS = new Set<keyof TokenTable>(["ttl_seconds", "retire_previous_on_first_use"]);

/**
 * Batched INSERTs through the store's connection, without building a Kysely query per batch:
 * SQLite gets one multi-row statement text (prepared once, by the store's statement cache),
 * PostgreSQL one INSERT … SELECT FROM unnest(array per column), which it parses once per batch.
 */
function batchInserter(dialect: "sqlite" | "postgres") {
  const columns = COLUMNS.join(", ");
  const run = (trx: Transaction<Database>, text: string, parameters: unknown[]) =>
    trx.executeQuery(CompiledQuery.raw(text, parameters));
  if (dialect === "postgres") {
    const arrays = COLUMNS.map((c, i) => `$${i + 1}::${INTEGER_COLUMNS.has(c) ? "integer" : "text"}[]`).join(
      ", ",
    );
    const text = `INSERT INTO tokens (${columns}) SELECT * FROM unnest(${arrays})`;
    return (trx: Transaction<Database>, rows: TokenTable[]) =>
      run(
        trx,
        text,
        COLUMNS.map((c) => rows.map((r) => r[c])),
      );
  }
  const texts = new Map<number, string>();
  const row = `(${COLUMNS.map(() => "?").join(", ")})`;
  return (trx: Transaction<Database>, rows: TokenTable[]) => {
    let text = texts.get(rows.length);
    if (!text) {
      text = `INSERT INTO tokens (${columns}) VALUES ${Array.from({ length: rows.length }, () => row).join(", ")}`;
      texts.set(rows.length, text);
    }
    return run(
      trx,
      text,
      rows.flatMap((r) => COLUMNS.map((c) => r[c])),
    );
  };
}

export async function seedTokens(
  db: Db,
  dialect: "sqlite" | "postgres",
  accounts: SeedAccounts,
  plan: SeedPlan,
): Promise<SeedResult> {
  const started = performance.now();
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  const poolValid = Math.round(plan.pool * 0.9);
  const poolUnknown = Math.round(plan.pool * 0.05);
  const poolRevoked = Math.floor((plan.pool - poolValid - poolUnknown) / 2);
  const poolExpired = plan.pool - poolValid - poolUnknown - poolRevoked;
  const fixed = plan.listTokens + poolValid + poolRevoked + poolExpired + plan.revocable + plan.mixRevocable;
  if (fixed > plan.total) throw new Error(`--tokens ${plan.total} is too few for this plan (needs ${fixed})`);

  const pool: PoolEntry[] = [];
  const revocable: string[] = [];
  const mixRevocable: string[] = [];

  /** One row, as TokenService.create writes it (opaque, read-write, no audiences, 1 year). */
  const row = (saId: string, n: number, createdMs: number, secret: string): TokenTable => ({
    id: newId(),
    service_account_id: saId,
    name: `seed-${n}`,
    description: "",
    owner: "",
    access: "read-write",
    format: "opaque",
    audiences: "[]",
    labels: "{}",
    digest: tokenDigest(secret),
    ttl_seconds: YEAR,
    created_at: iso(createdMs),
    expires_at: iso(createdMs + YEAR * 1000),
    last_used_at: null,
    revoked_at: null,
    rotated_from: null,
    rotated_to: null,
    retire_previous_on_first_use: 0,
    created_by: "bench-seed",
    kid: null,
  });

  // Rows are generated batch by batch so that a million never sit in memory at once.
  const kinds: ("list" | "valid" | "revoked" | "expired" | "revocable" | "mix" | "filler")[] = [];
  const push = (kind: (typeof kinds)[number], count: number) => {
    for (let i = 0; i < count; i++) kinds.push(kind);
  };
  push("list", plan.listTokens);
  push("valid", poolValid);
  push("revoked", poolRevoked);
  push("expired", poolExpired);
  push("revocable", plan.revocable);
  push("mix", plan.mixRevocable);
  push("filler", plan.total - fixed);
  // Spread over the last ~11 months, in insertion order, so timestamps are distinct and realistic.
  const start = now - 330 * 24 * 3600 * 1000;
  const step = Math.max(1, Math.floor((now - 60_000 - start) / plan.total));

  const batchSize = dialect === "sqlite" ? 500 : 10_000;
  const insert = batchInserter(dialect);
  await db.transaction().execute(async (trx) => {
    let batch: TokenTable[] = [];
    for (let n = 0; n < kinds.length; n++) {
      const kind = kinds[n] as (typeof kinds)[number];
      const secret = generateOpaqueToken();
      const created = start + n * step;
      const saId =
        kind === "list"
          ? accounts.list
          : kind === "revocable" || kind === "mix"
            ? accounts.client
            : (accounts.fillers[n % accounts.fillers.length] as string);
      const r = row(saId, n, created, secret);
      if (kind === "revoked") r.revoked_at = iso(now - 3_600_000);
      if (kind === "expired") {
        r.created_at = iso(now - 7_200_000 - n);
        r.ttl_seconds = 3600;
        r.expires_at = iso(now - 3_600_000 - n);
      }
      if (kind === "valid" || kind === "revoked" || kind === "expired") {
        pool.push({ secret, id: kind === "valid" ? r.id : null, kind });
      }
      if (kind === "revocable") revocable.push(secret);
      if (kind === "mix") mixRevocable.push(secret);
      batch.push(r);
      if (batch.length === batchSize) {
        await insert(trx, batch);
        batch = [];
      }
    }
    if (batch.length > 0) await insert(trx, batch);
  });
  for (let i = 0; i < poolUnknown; i++) {
    pool.push({ secret: generateOpaqueToken(), id: null, kind: "unknown" });
  }
  return {
    pool: shuffle(pool),
    revocable,
    mixRevocable,
    rows: kinds.length,
    seconds: (performance.now() - started) / 1000,
  };
}
