import { type Command, Option } from "commander";
import type { SigningKey } from "../api.ts";
import { type Ctx, handler, leaf, withExamples } from "../command.ts";
import { relativeAndAbsolute, relativeTime } from "../output.ts";
import { confirm } from "../prompt.ts";

/** "active" (signs new tokens), "published" (retired, still verifies), or "retired". */
function stateText(ctx: Ctx, key: SigningKey): string {
  const p = ctx.out.p;
  if (key.active) return p.green("active");
  return key.published ? p.yellow("published") : p.dim("retired");
}

export function registerKeys(program: Command): void {
  const keys = program
    .command("keys")
    .description("Signing keys: what signs JWTs (organization-scoped owners only)");
  withExamples(keys, [
    ["the keys, newest first", "latchkey keys list"],
    ["rotate the active key", "latchkey keys rotate"],
  ]);

  const list = leaf(keys, "list", "List the signing keys, newest first");
  list.addHelpText(
    "after",
    "\nSTATE: active signs new tokens; published is retired but still verifies tokens that have not\n" +
      "expired (it is in /.well-known/jwks.json); retired verifies nothing.",
  );
  withExamples(list, [
    ["a table for people", "latchkey keys list"],
    ["the active key's id", "latchkey keys list --json | jq -r '.items[] | select(.active) | .kid'"],
  ]).action(
    handler(async (ctx) => {
      const { items } = await ctx.client.get<{ items: SigningKey[] }>("/v1/signing-keys");
      if (ctx.out.json) return ctx.out.printJson({ items });
      const now = ctx.out.now();
      ctx.out.table(
        ["KID", "ALGORITHM", "STATE", "CREATED", "RETIRED"],
        items.map((k) => [
          k.kid,
          k.algorithm,
          stateText(ctx, k),
          relativeTime(k.created_at, now),
          k.retired_at ? relativeTime(k.retired_at, now) : "",
        ]),
        "No signing keys.",
      );
    }),
  );

  const rotate = leaf(keys, "rotate", "Make a new active signing key (asks first)").addOption(
    new Option("-y, --yes", "do not ask for confirmation"),
  );
  rotate.addHelpText(
    "after",
    "\nNew JWTs are signed with the new key at once. The previous key stays published, so tokens it\n" +
      "signed keep verifying until they expire; verifiers that cache the JWKS pick up the new key\n" +
      "when they refresh it.",
  );
  withExamples(rotate, [
    ["asks for confirmation on a terminal", "latchkey keys rotate"],
    ["in a script", "latchkey keys rotate --yes --json | jq -r .kid"],
  ]).action(
    handler<{ yes?: boolean }>(async (ctx, flags) => {
      await confirm(
        "Rotate the signing key? New JWTs will be signed with a new key; the current one keeps verifying the tokens it signed until they expire.",
        { yes: flags.yes, action: "rotate the signing key" },
      );
      const key = await ctx.client.post<SigningKey>("/v1/signing-keys/rotate");
      if (ctx.out.json) return ctx.out.printJson(key);
      ctx.out.line(`Rotated the signing key: ${ctx.out.p.bold(key.kid)} signs new tokens now.`);
      ctx.out.details([
        ["kid", key.kid],
        ["algorithm", key.algorithm],
        ["created", relativeAndAbsolute(key.created_at, ctx.out.now())],
      ]);
    }),
  );
}
