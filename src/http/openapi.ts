/**
 * Corrections to the OpenAPI document that @fastify/swagger generates from the route schemas.
 *
 * A POST, PATCH or PUT without a body is read as `{}` (src/server/app.ts), so a body whose schema
 * requires no field may be left out: rotate with defaults, an empty PATCH. The generator marks every
 * request body required; this says what the server actually does, so that clients (and fuzzers,
 * test/hardening/fuzz) are not told a request is invalid when it is accepted.
 */
export function optionalEmptyBodies<T>(document: T): T {
  const paths = (document as { paths?: Record<string, Record<string, unknown>> }).paths ?? {};
  for (const operations of Object.values(paths)) {
    for (const operation of Object.values(operations)) {
      const body = (operation as { requestBody?: RequestBody } | null)?.requestBody;
      if (!body?.content) continue;
      const needsAField = Object.values(body.content).some(
        (media) => (media.schema?.required?.length ?? 0) > 0 || media.schema?.$ref !== undefined,
      );
      if (!needsAField) body.required = false;
    }
  }
  return document;
}

interface RequestBody {
  required?: boolean;
  content?: Record<string, { schema?: { required?: string[]; $ref?: string } }>;
}
