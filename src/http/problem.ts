import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { isStorageFull, StorageFullError } from "../db/errors.ts";
import { ApiError, type ErrorCode, errorCodes } from "../lib/errors.ts";
import { fieldErrors } from "./validation.ts";

/** RFC 9457 problem details; `detail` is always written by us, never echoed from input. */
export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  const body = {
    type: `urn:latchkey:problem:${error.code}`,
    title: errorCodes[error.code].title,
    status: error.status,
    detail: error.message,
    code: error.code,
    request_id: request.id,
    ...(error.errors ? { errors: error.errors } : {}),
  };
  return reply
    .code(error.status)
    .headers(error.headers)
    .header("content-type", "application/problem+json; charset=utf-8")
    .serializer(JSON.stringify)
    .send(body);
}

const fastifyCodes: Record<string, [ErrorCode, string?]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ["payload_too_large"],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ["unsupported_media_type"],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: ["validation_failed", "the content-length header is not valid"],
  FST_ERR_CTP_EMPTY_JSON_BODY: ["invalid_json"],
  FST_ERR_BAD_URL: ["validation_failed", "the path has a malformed percent-encoding"],
  FST_ERR_MAX_PARAM_LENGTH: ["validation_failed", "a path parameter is too long"],
};

/** Maps every failure to a problem; anything unexpected is a 500 whose detail stays in the log. */
export function toApiError(error: FastifyError): ApiError {
  if (error instanceof ApiError) return error;
  if (isStorageFull(error)) return new StorageFullError(error);
  if (error.validation) {
    const errors = fieldErrors(error.validation, error.validationContext);
    const detail = errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return new ApiError("validation_failed", detail, { errors });
  }
  const mapped = error.code ? fastifyCodes[error.code] : undefined;
  if (mapped) return new ApiError(...mapped);
  if (error instanceof SyntaxError && error.statusCode === 400) {
    return new ApiError("invalid_json", "the body is not valid JSON");
  }
  if (error.statusCode && error.statusCode >= 400 && error.statusCode < 500) {
    return new ApiError("validation_failed", "the request is malformed");
  }
  return new ApiError("internal_error", "an internal error occurred; the request id is in the server log");
}

export function installProblemHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    const problem = toApiError(error);
    if (problem.status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.info({ code: problem.code, status: problem.status }, "request refused");
    return sendProblem(request, reply, problem);
  });
  app.setNotFoundHandler((request, reply) =>
    sendProblem(request, reply, new ApiError("route_not_found", `no ${request.method} route at this path`)),
  );
}
