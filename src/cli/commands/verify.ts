import type { Command } from "commander";
import { handler, leaf, withExamples } from "../command.ts";
import { EXIT, usageError } from "../errors.ts";
import { type Output, relativeAndAbsolute } from "../output.ts";
import { readStdin } from "../prompt.ts";
import { IntrospectionCheck, type Verification, verifyToken, WhoamiCheck } from "../verify.ts";

const REASONS: Record<string, string> = {
  malformed: "it does not have the shape of a Latchkey token",
  checksum_mismatch: "its checksum does not match (mistyped, truncated or not a Latchkey token)",
  token_invalid: "the server does not know it",
  token_expired: "it has expired",
  token_revoked: "it has been revoked",
  service_account_disabled: "its service account is disabled",
  inactive: "the server reports it inactive: unknown, expired, revoked, or its account is disabled",
};

export function registerVerify(program: Command): void {
  const verify = leaf(program, "verify <token>", "Check a token: its checksum locally, then with the server");
  verify.addHelpText(
    "after",
    "\nTOKEN `-` reads the token from standard input (a token on the command line is visible to `ps`).\n" +
      "Exits 0 when the token is valid, 1 when it is not; prints who it is and until when.\n" +
      "Opaque tokens' checksums are checked locally first (JWTs have none). The server is then asked\n" +
      "through /oauth2/introspect with your own credentials (the token is not used); with no\n" +
      "credentials configured, the token asks about itself instead, which counts as a use of it.",
  );
  withExamples(verify, [
    ["a token from a file", "latchkey verify - < ./ci.token"],
    ["in a script", 'latchkey verify "$TOKEN" --json | jq -r .expires_at'],
    ["without credentials: the token checks itself", 'LATCHKEY_TOKEN= latchkey verify "$TOKEN"'],
  ]).action(
    handler(async (ctx, _flags, [arg]) => {
      const token = (arg === "-" ? await readStdin() : arg!).trim();
      if (!token) throw usageError("no token given", "pass the token, or - to read it from standard input");
      const server = ctx.client.hasToken ? new IntrospectionCheck(ctx.client) : new WhoamiCheck(ctx.client);
      const result = await verifyToken(token, server);
      if (!result.active) process.exitCode = EXIT.failure;
      if (ctx.out.json) return ctx.out.printJson(result);
      print(ctx.out, result);
    }),
  );
}

function print(out: Output, v: Verification): void {
  const p = out.p;
  if (!v.active) {
    out.line(`${p.red("not valid")}: ${REASONS[v.reason ?? ""] ?? v.reason} (${v.reason})`);
    return;
  }
  out.line(`${p.green("valid")}: ${v.format} token${v.name ? ` ${p.bold(v.name)}` : ""}`);
  out.details([
    ["service account", v.service_account?.email],
    ["token id", v.token_id ?? undefined],
    [
      "access",
      v.access && v.effective_role
        ? `${v.access} (effective role ${v.effective_role})`
        : (v.access ?? undefined),
    ],
    ["audiences", v.audiences?.length ? v.audiences.join(", ") : undefined],
    ["expires", v.expires_at ? relativeAndAbsolute(v.expires_at, out.now()) : undefined],
  ]);
}
