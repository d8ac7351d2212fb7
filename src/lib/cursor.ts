import { ApiError } from "./errors.ts";

/** Opaque pagination cursors: base64url JSON of the last row's sort key. */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString("base64url");
}

export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string,
  shape: { [P in keyof K]: "string" | "number" },
): K {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (typeof value === "object" && value !== null) {
      const record = value as Record<string, unknown>;
      if (Object.entries(shape).every(([k, type]) => typeof record[k] === type)) return record as K;
    }
  } catch {
    // fall through to the error below
  }
  throw new ApiError("invalid_cursor", "cursor: not a cursor returned by this list", {
    errors: [{ field: "cursor", message: "not a cursor returned by this list" }],
  });
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Turns `limit + 1` fetched rows into a page and the cursor of its last row. */
export function toPage<R, T>(
  rows: R[],
  limit: number,
  view: (row: R) => T,
  keyOf: (row: R) => Record<string, string | number>,
): Page<T> {
  const more = rows.length > limit;
  const kept = more ? rows.slice(0, limit) : rows;
  const last = kept[kept.length - 1];
  return { items: kept.map(view), next_cursor: more && last ? encodeCursor(keyOf(last)) : null };
}
