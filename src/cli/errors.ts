/**
 * Exit statuses of the `latchkey` command: a contract for scripts (docs/cli.md lists them).
 * A status is never reused for another meaning; new ones may be added.
 */
export const EXIT = {
  ok: 0,
  /** Anything not covered below: a 5xx, too many failed authentications, a token that does not verify. */
  failure: 1,
  /** The command line is wrong (unknown flag, bad duration, missing --yes), or the server refused the input (400). */
  usage: 2,
  /** No credentials, or the server did not accept them (401). */
  unauthenticated: 3,
  /** The project, service account or token does not exist or is outside the caller's scope (404). */
  notFound: 4,
  /** The caller's role or scope does not allow this (403). */
  permissionDenied: 5,
  /** A conflict (409): the name exists, the token was already rotated, the project is not empty. */
  conflict: 6,
  /** The server could not be reached (connection refused, timeout, DNS). */
  unreachable: 7,
} as const;

export type ExitStatus = (typeof EXIT)[keyof typeof EXIT];

export interface FieldProblem {
  field: string;
  message: string;
}

export interface CliErrorOptions {
  exitCode: ExitStatus;
  /** The server's problem code, or one of the CLI's own (usage_error, unreachable, aborted, …). */
  code: string;
  status?: number;
  hint?: string;
  requestId?: string;
  errors?: FieldProblem[];
}

/** A failure to report on stderr and exit with; never carries a secret. */
export class CliError extends Error {
  readonly exitCode: ExitStatus;
  readonly code: string;
  readonly status: number | undefined;
  readonly hint: string | undefined;
  readonly requestId: string | undefined;
  readonly errors: FieldProblem[] | undefined;

  constructor(message: string, options: CliErrorOptions) {
    super(message);
    this.name = "CliError";
    this.exitCode = options.exitCode;
    this.code = options.code;
    this.status = options.status;
    this.hint = options.hint;
    this.requestId = options.requestId;
    this.errors = options.errors;
  }
}

export const usageError = (message: string, hint?: string): CliError =>
  new CliError(message, { exitCode: EXIT.usage, code: "usage_error", hint });

/** The exit status for an HTTP problem status. */
export function exitForStatus(status: number): ExitStatus {
  if (status === 400) return EXIT.usage;
  if (status === 401) return EXIT.unauthenticated;
  if (status === 403) return EXIT.permissionDenied;
  if (status === 404) return EXIT.notFound;
  if (status === 409) return EXIT.conflict;
  return EXIT.failure;
}

/** What to do next, by the server's problem code (docs/errors.md has the long form). */
const HINTS: Record<string, string> = {
  validation_failed: "fix the values named above; `--help` shows what each flag accepts",
  invalid_json: "this is a bug in the latchkey command; please report it",
  ttl_out_of_range: "choose a lifetime inside the range above, e.g. --ttl 90d",
  invalid_cursor: "pass --cursor exactly as printed by the previous page, or leave it out",
  unsupported_token_format: "leave out --format (opaque tokens are the default)",
  unauthenticated: "run `latchkey login`, or set LATCHKEY_ADDR and LATCHKEY_TOKEN",
  token_invalid: "the token you are using is not valid here: log in again with `latchkey login`",
  token_expired: "the token you are using has expired: log in with a newer one (`latchkey login`)",
  token_revoked: "the token you are using was revoked: log in with its successor or a new token",
  service_account_disabled: "your service account is disabled: ask an administrator to enable it",
  permission_denied: "use a service account (and a read-write token) with a higher role",
  role_ceiling_exceeded: "choose a role no higher than your own, or ask a more privileged account",
  scope_ceiling_exceeded: "use --scope project, or ask an organization-scoped administrator",
  read_write_token_required: "only read-write tokens rotate or revoke themselves; use the token id instead",
  not_found: "check the name or id (and --project), and that your account's scope includes the project",
  route_not_found: "the server does not know this request: is --addr a Latchkey server of this version?",
  already_exists: "choose another name, or use the existing one",
  project_not_empty: "delete the project's service accounts first (`latchkey sa list --project …`)",
  project_protected: "the default project always exists; delete its service accounts instead",
  token_not_active: "only active tokens can be rotated: create a new token instead",
  token_already_rotated: "rotate its successor instead (`latchkey token get ID` shows rotated_to)",
  too_many_failed_authentications: "fix the credentials, then wait before trying again",
  internal_error: "retry once; if it persists, report the request id to the operator",
  unavailable: "the server cannot reach its store: retry later, or ask the operator",
};

export const hintFor = (code: string): string | undefined => HINTS[code];
