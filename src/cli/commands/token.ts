import { type Command, Option } from "commander";
import {
  ACCESS_LEVELS,
  type IssuedToken,
  type RotatedToken,
  type RequestedToken,
  TOKEN_FORMATS,
  TOKEN_STATES,
  type Token,
  type WhoAmI,
} from "../api.ts";
import { seg } from "../client.ts";
import { type Ctx, handler, leaf, quietOption, withExamples } from "../command.ts";
import { readConfig, writeConfig } from "../config.ts";
import { usageError } from "../errors.ts";
import { labelsText, mergedLabels } from "../labels.ts";
import { durationText, relativeAndAbsolute, relativeTime } from "../output.ts";
import {
  boundObjectArg,
  durationArg,
  labelArg,
  listArg,
  serviceAccountRef,
  timeArg,
  tokenId,
} from "../parse.ts";
import { confirm } from "../prompt.ts";
import { SecretFile } from "../secret-file.ts";
import { projectOption, saPath } from "./sa.ts";

const tokenPath = (id: string) => `/v1/tokens/${seg(id)}`;

/** "in 6 days", "expired 2 days ago", "revoked 3 hours ago". */
export function expiryText(ctx: Ctx, token: Token): string {
  const now = ctx.out.now();
  const p = ctx.out.p;
  if (token.state === "revoked" && token.revoked_at)
    return p.red(`revoked ${relativeTime(token.revoked_at, now)}`);
  if (token.state === "expired") return p.yellow(`expired ${relativeTime(token.expires_at, now)}`);
  return relativeTime(token.expires_at, now);
}

function stateText(ctx: Ctx, state: Token["state"]): string {
  const p = ctx.out.p;
  return state === "active" ? p.green(state) : state === "expired" ? p.yellow(state) : p.red(state);
}

function showToken(ctx: Ctx, token: Token): void {
  const now = ctx.out.now();
  ctx.out.details([
    ["id", token.id],
    ["name", token.name],
    ["service account", token.service_account.email],
    ["state", stateText(ctx, token.state)],
    ["access", token.access],
    ["format", token.format],
    ["audiences", token.audiences.join(", ") || undefined],
    ["owner", token.owner || undefined],
    ["description", token.description || undefined],
    ["labels", labelsText(token.labels) || undefined],
    ["created", `${relativeAndAbsolute(token.created_at, now)} by ${token.created_by}`],
    ["expires", relativeAndAbsolute(token.expires_at, now)],
    ["revoked", token.revoked_at ? relativeAndAbsolute(token.revoked_at, now) : undefined],
    ["last used", token.last_used_at ? relativeAndAbsolute(token.last_used_at, now) : "never"],
    ["rotated from", token.rotated_from ?? undefined],
    ["rotated to", token.rotated_to ?? undefined],
  ]);
}

interface SecretFlags {
  outputFile?: string;
  quiet?: boolean;
}

const secretOptions = (command: Command): Command =>
  command
    .addOption(
      new Option(
        "-o, --output-file <file>",
        "write the secret to FILE (mode 0600) instead of printing it",
      ).conflicts("quiet"),
    )
    .addOption(quietOption("secret (for $(…) in scripts)").conflicts(["json", "outputFile"]));

/**
 * Runs a call that returns a secret, and hands the secret out exactly once: to the output file,
 * to stdout alone (`--quiet`), in the JSON, or printed with a warning that it will not be shown again.
 */
async function issue<T extends { token: string }>(
  ctx: Ctx,
  flags: SecretFlags,
  call: () => Promise<T>,
  describe: (issued: T) => void,
): Promise<T> {
  const file = flags.outputFile === undefined ? undefined : new SecretFile(flags.outputFile);
  let issued: T;
  try {
    issued = await call();
  } catch (error) {
    file?.discard();
    throw error;
  }
  if (file) file.write(issued.token);
  if (flags.quiet) {
    ctx.out.line(issued.token);
    return issued;
  }
  if (ctx.out.json) {
    if (!file) ctx.out.printJson(issued);
    else {
      const { token: _secret, ...rest } = issued;
      ctx.out.printJson({ ...rest, token_file: file.path });
    }
    return issued;
  }
  describe(issued);
  if (file) {
    ctx.out.line(
      `The secret is in ${file.path} (mode 0600). It is not shown here and cannot be shown again.`,
    );
  } else {
    ctx.out.line(`\n  ${ctx.out.p.bold(issued.token)}\n`);
    ctx.out.note(
      ctx.out.pErr.yellow("This secret is shown only this once and cannot be retrieved later: store it now."),
    );
  }
  return issued;
}

/** After `token rotate self`, a profile that held the rotated token gets its successor. */
function updateProfileToken(ctx: Ctx, secret: string): void {
  const connection = ctx.connection;
  if (connection.tokenSource !== "profile" || connection.profile === undefined) return;
  const config = readConfig(connection.configPath);
  const profile = config.profiles[connection.profile];
  if (!profile) return;
  profile.token = secret;
  profile.saved_at = new Date().toISOString();
  writeConfig(connection.configPath, config);
  if (!ctx.out.json) ctx.out.note(`Saved the new token in profile "${connection.profile}".`);
}

interface CreateFlags extends SecretFlags {
  sa: string;
  project?: string;
  name: string;
  ttl?: number;
  access?: string;
  format?: string;
  description?: string;
  owner?: string;
  audience?: string[];
  label?: Record<string, string>;
}

interface RotateFlags extends SecretFlags {
  ttl?: number;
  grace?: number;
  previousExpiresAt?: string;
  retireOnFirstUse?: boolean;
}

export function registerToken(program: Command): void {
  const token = program.command("token").description("Tokens: the credentials of service accounts");
  withExamples(token, [
    [
      "create a token that lives 30 days",
      "latchkey token create --project default --sa deployer --name ci --ttl 30d",
    ],
    ["rotate it, keeping the old one for a day", "latchkey token rotate ID --grace 24h"],
    ["a short-lived JWT", "latchkey token request --sa deployer --expiration 15m"],
  ]);

  const create = leaf(token, "create", "Create a token; its secret is shown once")
    .requiredOption("--sa <name-or-email>", "the service account")
    .addOption(projectOption())
    .requiredOption("-n, --name <name>", "a name for the token (letters, digits, space, . _ : @ / + -)")
    .option("--ttl <duration>", "lifetime: 90d, 12h, 30m, 3600s (default 90d; at least 10m)", durationArg)
    .addOption(new Option("--access <access>", "read-only caps the token at viewer").choices(ACCESS_LEVELS))
    .addOption(new Option("--format <format>", "token format (default opaque)").choices(TOKEN_FORMATS))
    .option("--description <text>", "free text")
    .option("--owner <text>", "who is responsible, for auditing")
    .option("--audience <aud>", "an audience the token is meant for (repeatable)", listArg)
    .option("--label <key=value>", "a label (repeatable)", labelArg);
  secretOptions(create);
  withExamples(create, [
    [
      "a token for CI that lives 30 days",
      "latchkey token create --project default --sa deployer --name ci --ttl 30d",
    ],
    [
      "straight into a file (mode 0600)",
      "latchkey token create --sa deployer --name ci --output-file ./ci.token",
    ],
    [
      "only the secret, for a script",
      "TOKEN=$(latchkey token create --sa deployer --name ci --access read-only --quiet)",
    ],
  ]).action(
    handler<CreateFlags>(async (ctx, flags) => {
      const target = serviceAccountRef(flags.sa, flags.project);
      await issue(
        ctx,
        flags,
        () =>
          ctx.client.post<IssuedToken>(`${saPath(target)}/tokens`, {
            name: flags.name,
            description: flags.description,
            owner: flags.owner,
            access: flags.access,
            format: flags.format,
            audiences: flags.audience,
            ttl_seconds: flags.ttl,
            labels: flags.label,
          }),
        (issued) => {
          ctx.out.line(`Created token ${ctx.out.p.bold(issued.name)} for ${issued.service_account.email}.`);
          ctx.out.details([
            ["id", issued.id],
            ["access", issued.access],
            ["expires", relativeAndAbsolute(issued.expires_at, ctx.out.now())],
          ]);
        },
      );
    }),
  );

  const request = leaf(token, "request", "Request a short-lived JWT for a service account; shown once")
    .requiredOption("--sa <name-or-email>", "the service account")
    .addOption(projectOption())
    .option("--audience <aud>", "who may accept it (repeatable; default: this server's API)", listArg)
    .option(
      "--expiration <duration>",
      "lifetime: 1h, 30m, 600s (default 1h; at least 10m; the server may shorten it)",
      durationArg,
    )
    .option(
      "--bound-object <kind/name[:uid]>",
      "bind it to an object: it stops working when the object is deleted or its uid changes",
      boundObjectArg,
    );
  secretOptions(request);
  request.addHelpText(
    "after",
    "\nKubernetes TokenRequest semantics: nothing is stored, so the JWT cannot be listed or rotated;\n" +
      "it expires on its own (revoke it with its secret: POST /oauth2/revoke). An account may always\n" +
      "request tokens for itself; for another account you need the rights to create its tokens.",
  );
  withExamples(request, [
    ["a JWT for an hour", "latchkey token request --project default --sa deployer"],
    [
      "for another service, 15 minutes",
      "latchkey token request --sa deployer --audience https://vault.example --expiration 15m",
    ],
    ["bound to a pod", "latchkey token request --sa deployer --bound-object Pod/web-0:9f8e7d --quiet"],
  ]).action(
    handler<
      SecretFlags & {
        sa: string;
        project?: string;
        audience?: string[];
        expiration?: number;
        boundObject?: { kind: string; name: string; uid?: string };
      }
    >(async (ctx, flags) => {
      const target = serviceAccountRef(flags.sa, flags.project);
      await issue(
        ctx,
        flags,
        () =>
          ctx.client.post<RequestedToken>(`${saPath(target)}/token-requests`, {
            audiences: flags.audience,
            expiration_seconds: flags.expiration,
            bound_object_ref: flags.boundObject,
          }),
        (issued) => {
          const email = `${target.name}@${target.project}.serviceaccounts.latchkey`;
          const bound = issued.bound_object_ref;
          ctx.out.line(`Requested a token for ${ctx.out.p.bold(email)}.`);
          ctx.out.details([
            ["audiences", issued.audiences.join(", ")],
            ["expires", relativeAndAbsolute(issued.expiration_timestamp, ctx.out.now())],
            ["bound to", bound ? `${bound.kind}/${bound.name} (uid ${bound.uid})` : undefined],
          ]);
        },
      );
    }),
  );

  const list = leaf(token, "list", "List a service account's tokens, oldest first")
    .requiredOption("--sa <name-or-email>", "the service account")
    .addOption(projectOption())
    .addOption(new Option("--state <state>", "only tokens in this state").choices(TOKEN_STATES))
    .option("-n, --name <name>", "only tokens with this name")
    .addOption(quietOption("ids, one per line"));
  withExamples(list, [
    ["a table for people", "latchkey token list --project default --sa deployer"],
    ["ids of the active ones", "latchkey token list --sa deployer --state active --quiet"],
    ["as JSON", "latchkey token list --sa deployer --json | jq -r '.items[] | [.id, .expires_at] | @tsv'"],
  ]).action(
    handler<{ sa: string; project?: string; state?: string; name?: string; quiet?: boolean }>(
      async (ctx, flags) => {
        const target = serviceAccountRef(flags.sa, flags.project);
        const items = await ctx.client.all<Token>(`${saPath(target)}/tokens`, {
          state: flags.state,
          name: flags.name,
        });
        if (ctx.out.json) return ctx.out.printJson({ items, next_cursor: null });
        if (flags.quiet) return items.forEach((t) => ctx.out.line(t.id));
        const now = ctx.out.now();
        ctx.out.table(
          ["ID", "NAME", "ACCESS", "STATE", "EXPIRES", "LAST USED"],
          items.map((t) => [
            t.id,
            t.name,
            t.access,
            stateText(ctx, t.state),
            expiryText(ctx, t),
            t.last_used_at ? relativeTime(t.last_used_at, now) : "never",
          ]),
          `No tokens for ${target.name}@${target.project}.`,
        );
      },
    ),
  );

  const get = leaf(token, "get <id>", "Show a token (never its secret)");
  withExamples(get, [
    ["details for people", "latchkey token get 0b8f8a4e-1c7e-4c55-9a53-6f1f6f3c2a10"],
    ["its successor after a rotation", "latchkey token get ID --json | jq -r .rotated_to"],
  ]).action(
    handler(async (ctx, _flags, [id]) => {
      const found = await ctx.client.get<Token>(tokenPath(tokenId(id!)));
      if (ctx.out.json) return ctx.out.printJson(found);
      showToken(ctx, found);
    }),
  );

  const update = leaf(token, "update <id>", "Change a token's name, description, owner or labels")
    .option("-n, --name <name>", "new name")
    .option("--description <text>", 'free text ("" clears it)')
    .option("--owner <text>", 'who is responsible ("" clears it)')
    .option("--label <key=value>", "set a label (repeatable)", labelArg)
    .option("--remove-label <key>", "remove a label (repeatable)", listArg);
  withExamples(update, [
    ["rename it", "latchkey token update ID --name ci-eu"],
    ["record who owns it", "latchkey token update ID --owner platform-team --label env=prod"],
  ]).action(
    handler<{
      name?: string;
      description?: string;
      owner?: string;
      label?: Record<string, string>;
      removeLabel?: string[];
    }>(async (ctx, flags, [rawId]) => {
      const id = tokenId(rawId!);
      const changes = [flags.name, flags.description, flags.owner, flags.label, flags.removeLabel];
      if (changes.every((c) => c === undefined)) {
        throw usageError(
          "nothing to change",
          "give --name, --description, --owner, --label or --remove-label",
        );
      }
      let labels: Record<string, string> | undefined;
      if (flags.label || flags.removeLabel) {
        const current = await ctx.client.get<Token>(tokenPath(id));
        labels = mergedLabels(current.labels, flags.label, flags.removeLabel);
      }
      const updated = await ctx.client.patch<Token>(tokenPath(id), {
        name: flags.name,
        description: flags.description,
        owner: flags.owner,
        labels,
      });
      if (ctx.out.json) return ctx.out.printJson(updated);
      ctx.out.line(`Updated token ${ctx.out.p.bold(updated.name)} (${updated.id}).`);
    }),
  );

  const rotate = leaf(
    token,
    "rotate <id>",
    "Rotate a token: a new secret now, the previous one retired at a deadline",
  )
    .option(
      "--ttl <duration>",
      "lifetime of the new token (default: the same as the previous one)",
      durationArg,
    )
    .addOption(
      new Option("--grace <duration>", "keep the previous token working this long (default 0: retire it now)")
        .argParser(durationArg)
        .conflicts("previousExpiresAt"),
    )
    .option("--previous-expires-at <time>", "retire the previous token at this RFC 3339 time", timeArg)
    .option(
      "--retire-on-first-use",
      "also retire the previous token as soon as the new one is first used (with or without a deadline)",
    );
  secretOptions(rotate);
  rotate.addHelpText(
    "after",
    "\nID may be `self`: the token you are logged in with rotates itself (read-write tokens), and a\n" +
      "profile holding it is updated with the new secret.",
  );
  withExamples(rotate, [
    ["retire the previous token at once", "latchkey token rotate ID"],
    [
      "keep the previous one working for a day",
      "latchkey token rotate ID --grace 24h --output-file ./ci.token",
    ],
    ["until the new one is first used", "latchkey token rotate ID --retire-on-first-use"],
    ["rotate the token you are using", "latchkey token rotate self --grace 1h"],
  ]).action(
    handler<RotateFlags>(async (ctx, flags, [rawId]) => {
      const id = tokenId(rawId!, { self: true });
      const body = {
        ttl_seconds: flags.ttl,
        previous_expires_in_seconds: flags.grace,
        previous_expires_at: flags.previousExpiresAt,
        retire_previous_on_first_use: flags.retireOnFirstUse,
      };
      const path = id === "self" ? "/v1/tokens/self/rotate" : `${tokenPath(id)}/rotate`;
      const rotated = await issue(
        ctx,
        flags,
        () => ctx.client.post<RotatedToken>(path, body),
        (r) => {
          const now = ctx.out.now();
          ctx.out.line(`Rotated token ${ctx.out.p.bold(r.name)} of ${r.service_account.email}.`);
          const previous = r.previous;
          const retires =
            previous.state !== "active"
              ? "stopped working now"
              : `stops working ${relativeAndAbsolute(previous.expires_at, now)}` +
                (flags.retireOnFirstUse ? ", or when the new token is first used if that is sooner" : "");
          ctx.out.details([
            ["new id", r.id],
            ["expires", relativeAndAbsolute(r.expires_at, now)],
            ["previous id", previous.id],
            ["previous", retires],
            ["grace", flags.grace === undefined ? undefined : durationText(flags.grace)],
          ]);
        },
      );
      if (id === "self") updateProfileToken(ctx, rotated.token);
    }),
  );

  const revoke = leaf(
    token,
    "revoke [id]",
    "Revoke a token, or every active token of a service account (asks first)",
  )
    .option("--sa <name-or-email>", "with --all: the service account whose tokens to revoke")
    .addOption(projectOption())
    .option("--all", "revoke every active token of --sa")
    .addOption(new Option("-y, --yes", "do not ask for confirmation"));
  revoke.addHelpText(
    "after",
    "\nID may be `self`: the token you are logged in with revokes itself (read-write tokens).\n" +
      "Revocation is immediate: no request with the token succeeds once this returns.",
  );
  withExamples(revoke, [
    ["one token (asks for confirmation on a terminal)", "latchkey token revoke ID"],
    ["in a script", "latchkey token revoke ID --yes"],
    ["every active token of an account", "latchkey token revoke --project default --sa deployer --all"],
  ]).action(
    handler<{ sa?: string; project?: string; all?: boolean; yes?: boolean }>(async (ctx, flags, [rawId]) => {
      if (rawId !== undefined) {
        if (flags.all || flags.sa) throw usageError("give either a token id, or --sa with --all, not both");
        return revokeOne(ctx, tokenId(rawId, { self: true }), flags.yes);
      }
      if (!flags.all || !flags.sa) {
        throw usageError(
          "nothing to revoke",
          "give a token id (`latchkey token revoke ID`), or --sa NAME --all for all of an account's tokens",
        );
      }
      await revokeAll(ctx, serviceAccountRef(flags.sa, flags.project), flags.yes);
    }),
  );
}

async function revokeOne(ctx: Ctx, id: string, yes: boolean | undefined): Promise<void> {
  let found: Token;
  if (id === "self") {
    const me = await ctx.client.get<WhoAmI>("/v1/whoami");
    found = await ctx.client.get<Token>(tokenPath(me.token_id));
    await confirm(`Revoke the token you are using (${found.name}, ${found.id})? It stops working at once.`, {
      yes,
      action: "revoke a token",
    });
    await ctx.client.delete("/v1/tokens/self");
    const { tokenSource, profile } = ctx.connection;
    if (tokenSource === "profile" && !ctx.out.json) {
      ctx.out.note(
        `Profile "${profile}" holds the revoked token now: \`latchkey login --profile ${profile}\` replaces it.`,
      );
    }
  } else {
    found = await ctx.client.get<Token>(tokenPath(id));
    if (found.state !== "revoked") {
      await confirm(
        `Revoke token ${found.name} (${found.id}) of ${found.service_account.email}? It stops working at once.`,
        { yes, action: "revoke a token" },
      );
    }
    await ctx.client.delete(tokenPath(id));
  }
  if (ctx.out.json) return ctx.out.printJson({ revoked: [found.id] });
  const already = found.state === "revoked" ? " (it already was)" : "";
  ctx.out.line(`Revoked token ${ctx.out.p.bold(found.name)} (${found.id})${already}.`);
}

async function revokeAll(
  ctx: Ctx,
  target: { project: string; name: string },
  yes: boolean | undefined,
): Promise<void> {
  const active = await ctx.client.all<Token>(`${saPath(target)}/tokens`, { state: "active" });
  const email = `${target.name}@${target.project}.serviceaccounts.latchkey`;
  if (active.length === 0) {
    if (ctx.out.json) return ctx.out.printJson({ revoked: [] });
    return ctx.out.line(`${email} has no active tokens.`);
  }
  await confirm(`Revoke all ${active.length} active token(s) of ${email}? They stop working at once.`, {
    yes,
    action: "revoke tokens",
  });
  const revoked: string[] = [];
  const progress = ctx.out.progress();
  try {
    for (const t of active) {
      progress.update(`revoking tokens of ${email}: ${revoked.length + 1}/${active.length}`);
      await ctx.client.delete(tokenPath(t.id));
      revoked.push(t.id);
    }
  } catch (error) {
    progress.done();
    if (!ctx.out.json)
      ctx.out.note(`Revoked ${revoked.length} of ${active.length} tokens before this failure.`);
    throw error;
  }
  progress.done();
  if (ctx.out.json) return ctx.out.printJson({ revoked });
  ctx.out.line(`Revoked ${revoked.length} token(s) of ${ctx.out.p.bold(email)}.`);
}
