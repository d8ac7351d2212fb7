import { InvalidArgumentError } from "commander";
import { parseDuration } from "../lib/duration.ts";
import { usageError } from "./errors.ts";

/** Parsers for flag values: a bad value is a usage error (exit 2) before anything is sent. */

const DURATION_HELP = "use a whole number with a unit: 90d, 12h, 30m or 3600s";

/** `90d`, `12h`, `30m`, `3600s` (also `2w`, or bare seconds) → seconds. */
export function durationArg(text: string): number {
  const seconds = parseDuration(text);
  if (seconds === undefined || !Number.isSafeInteger(seconds)) {
    throw new InvalidArgumentError(`"${text}" is not a duration: ${DURATION_HELP}.`);
  }
  return seconds;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$/i;

/** Every field in range: no 30 February, no hour 24, no leap second (JavaScript has none). */
function validFields(match: RegExpExecArray): boolean {
  const n = (i: number) => Number(match[i] ?? 0);
  const [year, month, day] = [n(1), n(2), n(3)];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const inRange = month >= 1 && month <= 12 && day >= 1 && day <= daysInMonth;
  return inRange && n(4) < 24 && n(5) < 60 && n(6) < 60 && n(9) < 24 && n(10) < 60;
}

/** An RFC 3339 date-time (`2030-01-01T00:00:00Z`, `2030-01-01T01:00:00+01:00`) → ISO in UTC. */
export function timeArg(text: string): string {
  const match = RFC3339.exec(text);
  const at = match && validFields(match) ? new Date(text.toUpperCase()) : undefined;
  if (!at || Number.isNaN(at.getTime())) {
    throw new InvalidArgumentError(
      `"${text}" is not an RFC 3339 time: use e.g. 2030-01-01T00:00:00Z or 2030-01-01T01:00:00+01:00.`,
    );
  }
  return at.toISOString();
}

/** An RFC 3339 time, or a duration meaning that long ago (`--since 24h`). */
export function timeOrAgoArg(text: string): string {
  const seconds = parseDuration(text);
  if (seconds !== undefined && Number.isSafeInteger(seconds)) {
    return new Date(Date.now() - seconds * 1000).toISOString();
  }
  try {
    return timeArg(text);
  } catch {
    throw new InvalidArgumentError(
      `"${text}" is neither an RFC 3339 time (2030-01-01T00:00:00Z) nor a duration ago (24h, 7d).`,
    );
  }
}

/** A whole number in [min, max]. */
export const intArg =
  (min: number, max: number) =>
  (text: string): number => {
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`"${text}" must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };

/** `--label key=value`, repeatable, collected into a map. */
export function labelArg(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = text.indexOf("=");
  if (at <= 0) throw new InvalidArgumentError(`"${text}" is not KEY=VALUE.`);
  return { ...previous, [text.slice(0, at)]: text.slice(at + 1) };
}

/** A repeatable flag collected into a list. */
export const listArg = (text: string, previous: string[] = []): string[] => [...previous, text];

const BOUND_OBJECT =
  /^([A-Za-z][A-Za-z0-9.-]{0,62})\/([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)(?::([\x21-\x7e]+))?$/;

/** `--bound-object KIND/NAME[:UID]` (`Pod/web-0`, `Job/migrate:4f1c…`) → the API's bound_object_ref. */
export function boundObjectArg(text: string): { kind: string; name: string; uid?: string } {
  const match = BOUND_OBJECT.exec(text);
  if (!match) {
    throw new InvalidArgumentError(
      `"${text}" is not KIND/NAME[:UID]: use e.g. Pod/web-0 or Job/migrate:4f1c2d (NAME a DNS name).`,
    );
  }
  const [, kind = "", name = "", uid] = match;
  return uid === undefined ? { kind, name } : { kind, name, uid };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A token id (a UUID); `self` too where the API has a self-service route. */
export function tokenId(text: string, options: { self?: boolean } = {}): string {
  if (options.self && text === "self") return text;
  if (!UUID.test(text)) {
    throw usageError(
      `"${text}" is not a token id`,
      `token ids are UUIDs, as printed by \`latchkey token list\`${options.self ? ", or self for the token you use" : ""}`,
    );
  }
  return text.toLowerCase();
}

const EMAIL =
  /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)@([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\.serviceaccounts\.latchkey$/;

/** The project of a command: --project, else LATCHKEY_PROJECT, else `default`. */
export const projectOf = (flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string =>
  flag ?? (env.LATCHKEY_PROJECT || "default");

/**
 * A service account reference: a name (in --project) or an email
 * (`name@project.serviceaccounts.latchkey`, which names the project itself).
 */
export function serviceAccountRef(
  ref: string,
  projectFlag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { project: string; name: string } {
  const email = EMAIL.exec(ref);
  if (email) {
    const [, name = "", project = ""] = email;
    if (projectFlag !== undefined && projectFlag !== project) {
      throw usageError(
        `${ref} is in project ${project}, not ${projectFlag}`,
        "leave out --project, or fix it",
      );
    }
    return { project, name };
  }
  if (ref.includes("@")) {
    throw usageError(
      `"${ref}" is not a service account email`,
      "emails look like NAME@PROJECT.serviceaccounts.latchkey",
    );
  }
  return { project: projectOf(projectFlag, env), name: ref };
}
