import type { ErrorObject } from "ajv";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import type { FastifyInstance } from "fastify";
import type { FieldError } from "../lib/errors.ts";
import { redactTokenLookalikes } from "../tokens/format.ts";

function makeAjv(coerceTypes: boolean): Ajv {
  // Bodies are strict: no coercion, no silently dropped fields. Query strings are text, so coerce.
  const ajv = new Ajv({
    coerceTypes,
    removeAdditional: false,
    useDefaults: true,
    allErrors: true,
    strict: false,
    // JSON.parse reads 1e309 as Infinity, which Ajv (without this) takes for an integer. Not for
    // coerced query strings: there Ajv 8 would coerce "1e309" to Infinity and then pass it, bounds
    // and all; without it, Infinity meets the bounds every numeric query parameter has.
    strictNumbers: !coerceTypes,
  });
  addFormats.default(ajv);
  return ajv;
}

/** Request schemas are the single source of validation (and of the OpenAPI document). */
export function installValidation(app: FastifyInstance): void {
  const body = makeAjv(false);
  const text = makeAjv(true);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === "body" ? body : text).compile(schema));
}

/** Ajv errors → `{field, message}` naming the field as the client sent it. */
export function fieldErrors(errors: ErrorObject[], part: string | undefined): FieldError[] {
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const e of errors) {
    const segments = e.instancePath.split("/").slice(1);
    if (e.keyword === "additionalProperties") segments.push(String(e.params.additionalProperty));
    if (e.keyword === "required") segments.push(String(e.params.missingProperty));
    if (e.keyword === "propertyNames") segments.push(String(e.params.propertyName));
    // Property names come from the client: one may be a secret sent in the wrong place.
    const field = redactTokenLookalikes(segments.join(".")) || (part ?? "body");
    const message =
      e.keyword === "additionalProperties"
        ? "unknown field"
        : e.keyword === "required"
          ? "is required"
          : e.keyword === "enum"
            ? `must be one of ${(e.params.allowedValues as unknown[]).join(", ")}`
            : (e.message ?? "is not valid");
    const key = `${field}\u0000${message}`;
    if (seen.has(key) || e.keyword === "if") continue;
    seen.add(key);
    out.push({ field, message });
  }
  return out.slice(0, 20);
}
