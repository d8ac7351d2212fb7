import { statSync } from "node:fs";
import { join } from "node:path";

export const SQLITE_FILE = "latchkey.db";

export class StoreUrlError extends Error {}

export interface PostgresTarget {
  kind: "postgres";
  /** What pg connects with: the URL without `schema`, with a search_path for it. */
  connectionString: string;
  schema: string;
  /** The URL with its password replaced, for logs and messages. */
  display: string;
}

export interface SqliteTarget {
  kind: "sqlite";
  file: string;
}

/** `?schema=` in a database URL: where Latchkey's tables live (default `public`). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * `postgres://user:password@host:5432/database?schema=name&sslmode=…` (or `postgresql://`), or
 * `sqlite:PATH`: a SQLite file, or the `latchkey.db` in PATH when it is a directory.
 */
export function parseStoreUrl(text: string): PostgresTarget | SqliteTarget {
  if (/^postgres(ql)?:\/\//i.test(text)) return parsePostgresUrl(text);
  if (text.startsWith("sqlite:")) return { kind: "sqlite", file: sqlitePath(text) };
  throw new StoreUrlError(
    `unknown store "${redact(text)}": use postgres://user:password@host:5432/database or sqlite:/path/to/latchkey.db`,
  );
}

function parsePostgresUrl(text: string): PostgresTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new StoreUrlError("the database URL is not a URL (postgres://user:password@host:5432/database)");
  }
  const schema = url.searchParams.get("schema") ?? "public";
  if (!SCHEMA_NAME.test(schema)) {
    throw new StoreUrlError(`schema "${schema}" must be a lowercase identifier (letters, digits, _)`);
  }
  url.searchParams.delete("schema");
  // Every connection resolves Latchkey's unqualified table names in that schema, and only there.
  const options = [url.searchParams.get("options"), `-c search_path=${schema}`].filter(Boolean).join(" ");
  url.searchParams.set("options", options);
  if (!url.searchParams.has("application_name")) url.searchParams.set("application_name", "latchkey");
  return { kind: "postgres", connectionString: url.toString(), schema, display: redact(text) };
}

/** `sqlite:/abs/file.db`, `sqlite:///abs/file.db`, `sqlite:./relative.db`, `sqlite:data` (a directory). */
function sqlitePath(url: string): string {
  const path = url.slice("sqlite:".length).replace(/^\/\/(?=\/|\.)/, "");
  if (path === "") throw new StoreUrlError("sqlite: needs a path, e.g. sqlite:/var/lib/latchkey/latchkey.db");
  let isDirectory = path.endsWith("/");
  try {
    isDirectory ||= statSync(path).isDirectory();
  } catch {
    // does not exist yet: a file of that name
  }
  return isDirectory ? join(path, SQLITE_FILE) : path;
}

/** The URL without its password. */
export function redact(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@/]*@/i, "$1:***@");
}
