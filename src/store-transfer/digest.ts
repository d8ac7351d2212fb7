import { createHash } from "node:crypto";
import { eventHash, GENESIS_HASH, type HashedEvent } from "../audit/chain.ts";
import type { AuditEventTable } from "../db/schema.ts";
import type { Values } from "./rows.ts";
import type { TableSpec } from "./tables.ts";

/** What a table holds, in a form two stores (or a file and a store) can compare. */
export interface TableDigest {
  rows: number;
  /**
   * The sum modulo 2^256 of the SHA-256 of every row (its values as a JSON array in column order):
   * independent of row order, which differs between engines and collations.
   */
  sha256: string;
}

const MODULUS = 1n << 256n;

export class TableHasher {
  #rows = 0;
  #sum = 0n;

  add(values: Values): void {
    const digest = createHash("sha256").update(JSON.stringify(values)).digest("hex");
    this.#sum = (this.#sum + BigInt(`0x${digest}`)) % MODULUS;
    this.#rows += 1;
  }

  digest(): TableDigest {
    return { rows: this.#rows, sha256: this.#sum.toString(16).padStart(64, "0") };
  }
}

export interface ChainState {
  events: number;
  /** The newest event's hash: what a copy must end with. */
  head: string;
}

export class AuditChainError extends Error {}

/** Follows the audit chain row by row, in seq order, as audit/service.ts verifies it. */
export class AuditChainChecker {
  #events = 0;
  #head = GENESIS_HASH;
  readonly #index: Record<keyof AuditEventTable, number>;

  constructor(spec: TableSpec) {
    this.#index = Object.fromEntries(spec.columns.map((c, i) => [c, i])) as Record<
      keyof AuditEventTable,
      number
    >;
  }

  add(values: Values): void {
    const row = Object.fromEntries(
      Object.entries(this.#index).map(([column, i]) => [column, values[i]]),
    ) as unknown as AuditEventTable;
    const expected = this.#events + 1;
    if (
      Number(row.seq) !== expected ||
      row.prev_hash !== this.#head ||
      eventHash(this.#head, row as HashedEvent) !== row.hash
    ) {
      throw new AuditChainError(
        `the audit chain does not verify at event ${row.id} (seq ${row.seq}, expected ${expected}): ` +
          "it was edited, or events are missing; GET /v1/audit-events?verify=true on the source shows the same",
      );
    }
    this.#head = row.hash;
    this.#events = expected;
  }

  state(): ChainState {
    return { events: this.#events, head: this.#head };
  }
}
