import { appliedMigrations, type Executor, KNOWN_MIGRATIONS, migrate, type Store } from "../db/database.ts";
import { AuditChainChecker, type ChainState, TableHasher, type TableDigest } from "./digest.ts";
import { countRows, insertRows, readRows, type Values } from "./rows.ts";
import { TABLES, type TableName, type TableSpec } from "./tables.ts";

export class StoreTransferError extends Error {}

/** What a store holds, table by table, and where its audit chain ends. */
export interface StoreDigest {
  tables: Record<TableName, TableDigest>;
  audit: ChainState;
}

/** Rows on their way, a batch at a time, table after table in TABLES order. */
export type Batches = AsyncIterable<{ table: TableSpec; rows: Values[] }>;

const AUDIT = TABLES.find((t) => t.name === "audit_events") as TableSpec;

/** The source must be a Latchkey store at exactly this version's latest migration. */
export async function checkSourceSchema(source: Store): Promise<string> {
  const applied = await appliedMigrations(source.db);
  const latest = KNOWN_MIGRATIONS.at(-1) as string;
  if (applied.length === 0) throw new StoreTransferError(`${source.location} holds no Latchkey store`);
  const unknown = applied.filter((m) => !KNOWN_MIGRATIONS.includes(m));
  if (unknown.length > 0) {
    throw new StoreTransferError(
      `${source.location} was migrated by a newer Latchkey (${unknown.join(", ")}); use that version`,
    );
  }
  if (applied.at(-1) !== latest) {
    throw new StoreTransferError(
      `${source.location} is at migration ${applied.at(-1)}, this Latchkey at ${latest}: ` +
        "run `latchkey migrate` on it first",
    );
  }
  return latest;
}

/** Runs `work` on one consistent snapshot of the source, even while servers keep writing to it. */
export function withSnapshot<T>(source: Store, work: (trx: Executor) => Promise<T>): Promise<T> {
  let builder = source.db.transaction();
  if (source.dialect.name === "postgres") {
    builder = builder.setIsolationLevel("repeatable read").setAccessMode("read only");
  }
  // SQLite: a read transaction in WAL mode sees one snapshot from its first read on.
  return builder.execute(work);
}

/** Every row of the store, table by table. */
export async function* batchesOf(db: Executor): Batches {
  for (const table of TABLES) {
    for await (const rows of readRows(db, table)) yield { table, rows };
  }
}

/** Counts and order-independent checksums of every table, and the audit chain, recomputed from the rows. */
export async function digestStore(db: Executor): Promise<StoreDigest> {
  const digest = new Digester();
  for await (const { table, rows } of batchesOf(db)) for (const values of rows) digest.add(table, values);
  return digest.result();
}

/** Accumulates a StoreDigest from rows as they pass; the audit chain must verify. */
export class Digester {
  readonly #hashers = new Map<string, TableHasher>(TABLES.map((t) => [t.name, new TableHasher()]));
  readonly #chain = new AuditChainChecker(AUDIT);

  add(table: TableSpec, values: Values): void {
    this.#hashers.get(table.name)?.add(values);
    if (table.name === "audit_events") this.#chain.add(values);
  }

  result(): StoreDigest {
    const tables = Object.fromEntries(TABLES.map((t) => [t.name, this.#hashers.get(t.name)?.digest()]));
    return { tables: tables as StoreDigest["tables"], audit: this.#chain.state() };
  }
}

/** The first difference between two digests, in words; undefined when they agree. */
export function difference(expected: StoreDigest, actual: StoreDigest): string | undefined {
  for (const { name } of TABLES) {
    const e = expected.tables[name];
    const a = actual.tables[name];
    if (e.rows !== a.rows) return `${name}: ${a.rows} rows instead of ${e.rows}`;
    if (e.sha256 !== a.sha256)
      return `${name}: the rows differ (checksum ${a.sha256} instead of ${e.sha256})`;
  }
  if (expected.audit.events !== actual.audit.events || expected.audit.head !== actual.audit.head) {
    return `audit chain: ${actual.audit.events} events ending in ${actual.audit.head}, instead of ${expected.audit.events} ending in ${expected.audit.head}`;
  }
  return undefined;
}

/**
 * Writes `batches` into `target`, which must be empty, in one transaction: it is migrated first,
 * then filled, then read back through its own engine and compared with what was sent (row counts,
 * checksums, the audit chain). Any difference, or a chain that does not verify, rolls everything back.
 */
export async function receive(
  target: Store,
  batches: Batches,
  expected?: () => StoreDigest,
): Promise<StoreDigest> {
  await migrate(target.db);
  const occupied: string[] = [];
  for (const table of TABLES) {
    const n = await countRows(target.db, table);
    if (n > 0) occupied.push(`${table.name}: ${n}`);
  }
  if (occupied.length > 0) {
    throw new StoreTransferError(
      `${target.location} is not empty (${occupied.join(", ")}): move into a new store, before any server starts on it`,
    );
  }
  return target.db.transaction().execute(async (trx) => {
    const sent = new Digester();
    let position = 0;
    for await (const { table, rows } of batches) {
      const index = TABLES.findIndex((t) => t.name === table.name);
      if (index < position) throw new StoreTransferError(`${table.name} rows after those of a later table`);
      position = index;
      for (const values of rows) sent.add(table, values);
      try {
        await insertRows(trx, table, rows);
      } catch (error) {
        // A dangling reference or a duplicate key: the rows were not a whole, consistent store.
        const reason = error instanceof Error ? error.message : String(error);
        throw new StoreTransferError(`${target.location} refused rows of ${table.name} (${reason})`);
      }
    }
    const source = sent.result();
    const promised = expected?.();
    const damaged = promised && difference(promised, source);
    if (damaged) throw new StoreTransferError(`the rows read do not match their summary (${damaged})`);
    const stored = await digestStore(trx);
    const lost = difference(source, stored);
    if (lost) throw new StoreTransferError(`${target.location} does not hold what was written (${lost})`);
    return stored;
  });
}

export interface TransferReport {
  from: string;
  to: string;
  migration: string;
  digest: StoreDigest;
  seconds: number;
}

/** Moves a whole store into an empty one (SQLite to PostgreSQL, or any other pair), verified. */
export async function copyStore(source: Store, target: Store): Promise<TransferReport> {
  if (source.location === target.location)
    throw new StoreTransferError("the source and the target are the same store");
  const started = Date.now();
  const migration = await checkSourceSchema(source);
  const digest = await withSnapshot(source, (trx) => receive(target, batchesOf(trx)));
  return {
    from: source.location,
    to: target.location,
    migration,
    digest,
    seconds: (Date.now() - started) / 1000,
  };
}
