import { type Static, type TSchema, Type } from "typebox";

/** A string that is one of `values`, as a plain JSON Schema enum (readable errors, clean OpenAPI). */
export const StringEnum = <const T extends readonly string[]>(
  values: T,
  options: Record<string, unknown> = {},
) => Type.Unsafe<T[number]>({ type: "string", enum: [...values], ...options });

/**
 * No control characters (C0, DEL, C1): they hide text in terminals and logs. No bidirectional
 * embeddings, overrides or isolates (U+202A–U+202E, U+2066–U+2069): they make text display in
 * another order than it is stored ("Trojan Source", CVE-2021-42574). No lone UTF-16 surrogates
 * either: they have no UTF-8 form, so the store would silently replace them.
 * (Ajv compiles patterns with the `u` flag, so a surrogate pair, e.g. an emoji, is one character.)
 */
const PRINTABLE = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069\\ud800-\\udfff]*$";

export const DnsLabel = (description: string) =>
  Type.String({
    minLength: 1,
    maxLength: 63,
    pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
    description: `${description}: a lowercase DNS label (a-z, 0-9, '-'; at most 63 characters)`,
  });

export const Text = (maxLength: number, description: string) =>
  Type.String({ maxLength, pattern: PRINTABLE, description });

export const TokenName = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: "^[A-Za-z0-9][A-Za-z0-9 ._:@/+-]*$",
  description: "Letters, digits, space and . _ : @ / + - (at most 128 characters)",
});

export const Labels = Type.Unsafe<Record<string, string>>({
  type: "object",
  maxProperties: 64,
  propertyNames: {
    type: "string",
    minLength: 1,
    maxLength: 63,
    pattern: "^[a-z0-9]([-a-z0-9_./]*[a-z0-9])?$",
  },
  additionalProperties: { type: "string", maxLength: 256, pattern: PRINTABLE },
  description: "String map; keys are lowercase (a-z, 0-9, - _ . /), values at most 256 characters",
});

export const Timestamp = Type.String({ format: "date-time", description: "RFC 3339, UTC" });
export const NullableTimestamp = Type.Union([Timestamp, Type.Null()]);
export const Uuid = Type.String({ format: "uuid" });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50, description: "Page size" })),
  cursor: Type.Optional(
    Type.String({ maxLength: 1024, description: "next_cursor of the previous page; omit for the first" }),
  ),
};

export const PageOf = <T extends TSchema>(item: T) =>
  Type.Object({
    items: Type.Array(item),
    next_cursor: Type.Union([Type.String(), Type.Null()], { description: "null on the last page" }),
  });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String(),
    code: Type.String({ description: "Stable error code; see docs/errors.md" }),
    instance: Type.Optional(Type.String()),
    request_id: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ field: Type.String(), message: Type.String() }))),
  },
  { $id: "Problem" },
);

export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, Type.Ref("Problem")]));

export type PageQueryT = { limit?: number; cursor?: string };
export type { Static };
