import type { CompiledQuery } from "kysely";
import type { Executor } from "../db/database.ts";
import { compiledOnce } from "../db/prepared.ts";
import type { TokenState } from "./state.ts";
import { VIEW_COLUMNS, type ViewedToken } from "./view.ts";

/** One page of a service account's tokens, oldest first, keyset-paginated on (created_at, id). */
export interface AccountTokensPage {
  serviceAccountId: string;
  name?: string;
  state?: TokenState;
  /** The instant the states are judged at (ISO). */
  now: string;
  /** The (created_at, id) of the last row of the previous page. */
  after?: { createdAt: string; id: string };
  /** Rows to fetch (the page size plus one, to know whether there is a next page). */
  rows: number;
}

function build(db: Executor, p: AccountTokensPage) {
  // Only the tokens table, and only the columns a view shows: the caller holds the account and
  // project, and SQLite pays for every column it reads (through a join, about a microsecond apiece).
  let query = db
    .selectFrom("tokens")
    .select(VIEW_COLUMNS)
    .where("service_account_id", "=", p.serviceAccountId)
    .orderBy("created_at")
    .orderBy("id")
    .limit(p.rows);
  if (p.name !== undefined) query = query.where("name", "=", p.name);
  if (p.state === "revoked") query = query.where("revoked_at", "is not", null);
  if (p.state === "active") query = query.where("revoked_at", "is", null).where("expires_at", ">", p.now);
  if (p.state === "expired") query = query.where("revoked_at", "is", null).where("expires_at", "<=", p.now);
  if (p.after) {
    const { createdAt, id } = p.after;
    // A row-value comparison, which SQLite and PostgreSQL turn into a seek in
    // tokens_by_service_account; the equivalent OR made them walk the account's index from its start.
    query = query.where(({ eb, refTuple, tuple }) =>
      eb(refTuple("created_at", "id"), ">", tuple(createdAt, id)),
    );
  }
  return query;
}

/** The parameters of `build`'s query, in the order of its SQL (the WHERE clauses, then LIMIT). */
function parametersOf(p: AccountTokensPage): unknown[] {
  const parameters: unknown[] = [p.serviceAccountId];
  if (p.name !== undefined) parameters.push(p.name);
  if (p.state === "active" || p.state === "expired") parameters.push(p.now);
  if (p.after) parameters.push(p.after.createdAt, p.after.id);
  parameters.push(p.rows);
  return parameters;
}

/**
 * The rows of one page. Building and compiling the query costs about as much as SQLite takes to
 * run it, so each shape (which filters are present) is compiled once per store and run with
 * this page's parameters.
 */
export async function accountTokens(db: Executor, p: AccountTokensPage): Promise<ViewedToken[]> {
  const { rows } = await db.executeQuery(compileAccountTokens(db, p));
  return rows;
}

/** The query `accountTokens` runs for this page, compiled (bench/run.ts explains it). */
export function compileAccountTokens(db: Executor, p: AccountTokensPage): CompiledQuery<ViewedToken> {
  const shape = `${p.name === undefined ? "" : "name"}/${p.state ?? ""}/${p.after ? "after" : ""}`;
  const parameters = parametersOf(p);
  const query = compiledOnce(db, `account-tokens/${shape}`, () => {
    const built = build(db, p).compile();
    if (
      built.parameters.length !== parameters.length ||
      built.parameters.some((v, i) => v !== parameters[i])
    ) {
      throw new Error(`accountTokens: parametersOf does not match the compiled query (${shape})`);
    }
    return built;
  });
  return { ...query, parameters };
}
