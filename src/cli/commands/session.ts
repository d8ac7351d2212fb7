import { readFileSync } from "node:fs";
import { type Command, Option } from "commander";
import type { WhoAmI } from "../api.ts";
import { Client, DEFAULT_ADDR, normalizeAddr } from "../client.ts";
import { type Ctx, handler, leaf, withExamples, withOutputOptions } from "../command.ts";
import { checkProfileName, configPath, readConfig, resolveConnection, writeConfig } from "../config.ts";
import { CliError, EXIT, usageError } from "../errors.ts";
import { relativeTime } from "../output.ts";
import { durationArg } from "../parse.ts";
import { canPrompt, readSecret, readStdin } from "../prompt.ts";

async function loginToken(flags: { token?: string; tokenFile?: string }): Promise<string> {
  if (flags.token !== undefined) return flags.token.trim();
  if (flags.tokenFile !== undefined) {
    if (flags.tokenFile === "-") return (await readStdin()).trim();
    try {
      return readFileSync(flags.tokenFile, "utf8").trim();
    } catch (error) {
      throw usageError(`cannot read the token from ${flags.tokenFile}: ${(error as Error).message}`);
    }
  }
  if (process.env.LATCHKEY_TOKEN) return process.env.LATCHKEY_TOKEN.trim();
  if (canPrompt()) return readSecret("Token (input is hidden): ");
  throw usageError(
    "no token to log in with",
    "give --token-file FILE (- reads standard input), set LATCHKEY_TOKEN, or run this on a terminal",
  );
}

function showWhoami(ctx: Ctx, me: WhoAmI): void {
  const sa = me.service_account;
  const connection = ctx.connection;
  ctx.out.details([
    ["service account", ctx.out.p.bold(sa.email)],
    ["role", `${sa.role} (${sa.scope} scope)`],
    ["token", `${me.token_id} (${me.access})`],
    ["effective role", me.effective_role],
    ["server", connection.addr + (connection.profile ? ` (profile ${connection.profile})` : "")],
  ]);
}

export function registerSession(program: Command): void {
  const login = withOutputOptions(
    program
      .command("login")
      .description("Check a token against a server and save both as a profile")
      .option(
        "--addr <url>",
        "server address (env LATCHKEY_ADDR; default: the profile's, else http://127.0.0.1:8080)",
      )
      .addOption(
        new Option("--token <token>", "the token (visible to `ps`; prefer --token-file)").conflicts(
          "tokenFile",
        ),
      )
      .option("--token-file <file>", "read the token from FILE (- for standard input)")
      .option("--profile <name>", "save as this profile (default: default)"),
  );
  login.addHelpText(
    "after",
    "\nWithout --token or --token-file the token is taken from LATCHKEY_TOKEN, or asked for on a terminal.\n" +
      "Profiles live in $XDG_CONFIG_HOME/latchkey/config.json (mode 0600); the one saved becomes current.",
  );
  withExamples(login, [
    ["asks for the token", "latchkey login --addr https://latchkey.example"],
    ["the bootstrap token of a local server", "latchkey login --token-file ./data/bootstrap-token"],
    [
      "a second, named profile",
      "latchkey login --addr https://staging.example --profile staging --token-file -",
    ],
  ]).action(
    handler<{ addr?: string; token?: string; tokenFile?: string; profile?: string }>(async (ctx, flags) => {
      const name = checkProfileName(flags.profile ?? "default");
      const path = configPath();
      const config = readConfig(path);
      const addr = normalizeAddr(
        flags.addr ?? (process.env.LATCHKEY_ADDR || undefined) ?? config.profiles[name]?.addr ?? DEFAULT_ADDR,
      );
      const token = await loginToken(flags);
      if (!token) throw usageError("the token is empty");
      const me = await new Client(addr, token).get<WhoAmI>("/v1/whoami");
      config.profiles[name] = {
        addr,
        token,
        service_account: me.service_account.email,
        saved_at: new Date().toISOString(),
      };
      config.current_profile = name;
      writeConfig(path, config);
      if (ctx.out.json) return ctx.out.printJson({ profile: name, addr, config_path: path, whoami: me });
      const sa = me.service_account;
      ctx.out.line(
        `Logged in to ${addr} as ${ctx.out.p.bold(sa.email)} (${me.effective_role}, ${sa.scope} scope).`,
      );
      ctx.out.line(`Saved as profile "${name}" in ${path}; it is now the current profile.`);
    }),
  );

  const logout = withOutputOptions(
    program
      .command("logout")
      .description("Forget a saved profile (the token itself stays valid)")
      .option("--profile <name>", "the profile to forget (default: the current one)"),
  );
  withExamples(logout, [
    ["forget the current profile", "latchkey logout"],
    ["forget another one", "latchkey logout --profile staging"],
  ]).action(
    handler<{ profile?: string }>(async (ctx, flags) => {
      const path = configPath();
      const config = readConfig(path);
      const name = flags.profile ?? config.current_profile ?? undefined;
      if (name === undefined || !config.profiles[name]) {
        throw usageError(
          name ? `no profile named "${name}"` : "no current profile",
          "`latchkey profile list` shows them",
        );
      }
      delete config.profiles[name];
      if (config.current_profile === name) config.current_profile = null;
      writeConfig(path, config);
      if (ctx.out.json) return ctx.out.printJson({ profile: name, removed: true });
      ctx.out.line(
        `Forgot profile "${name}". The token was not revoked (\`latchkey token revoke\` does that).`,
      );
    }),
  );

  const profile = program.command("profile").description("Saved connections (see `latchkey login`)");
  withExamples(profile, [
    ["see the profiles", "latchkey profile list"],
    ["switch to another", "latchkey profile use staging"],
  ]);
  const profileList = withOutputOptions(
    profile.command("list").description("List the saved profiles (never their tokens)"),
  );
  withExamples(profileList, [["a table", "latchkey profile list"]]).action(
    handler(async (ctx) => {
      const path = configPath();
      const config = readConfig(path);
      const rows = Object.entries(config.profiles)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([name, p]) => ({
          name,
          addr: p.addr,
          service_account: p.service_account ?? null,
          saved_at: p.saved_at ?? null,
          current: name === config.current_profile,
        }));
      if (ctx.out.json)
        return ctx.out.printJson({
          config_path: path,
          current_profile: config.current_profile,
          profiles: rows,
        });
      const now = ctx.out.now();
      ctx.out.table(
        ["", "NAME", "ADDRESS", "SERVICE ACCOUNT", "SAVED"],
        rows.map((r) => [
          r.current ? "*" : "",
          r.name,
          r.addr,
          r.service_account ?? "",
          r.saved_at ? relativeTime(r.saved_at, now) : "",
        ]),
        `No profiles in ${path}: \`latchkey login\` saves one.`,
      );
    }),
  );
  const profileUse = withOutputOptions(
    profile.command("use <name>").description("Make a saved profile the current one"),
  );
  withExamples(profileUse, [["switch to staging", "latchkey profile use staging"]]).action(
    handler(async (ctx, _flags, [name]) => {
      const path = configPath();
      const config = readConfig(path);
      if (!config.profiles[name!]) {
        throw usageError(`no profile named "${name}"`, "`latchkey profile list` shows them");
      }
      config.current_profile = name!;
      writeConfig(path, config);
      if (ctx.out.json) return ctx.out.printJson({ current_profile: name });
      ctx.out.line(`Now using profile "${name}" (${config.profiles[name!]!.addr}).`);
    }),
  );

  const whoami = leaf(
    program,
    "whoami",
    "Show who the token in use is: service account, token, effective role",
  );
  withExamples(whoami, [
    ["with the current profile", "latchkey whoami"],
    ["with another token", "LATCHKEY_TOKEN=$(cat ./ci.token) latchkey whoami --json"],
  ]).action(
    handler(async (ctx) => {
      const me = await ctx.client.get<WhoAmI>("/v1/whoami");
      if (ctx.out.json) return ctx.out.printJson(me);
      showWhoami(ctx, me);
    }),
  );

  const status = withOutputOptions(
    program
      .command("status")
      .description("Check that the server is up and its store reachable (no token needed)")
      .option(
        "--addr <url>",
        "server address (env LATCHKEY_ADDR; default: the profile's, else http://127.0.0.1:8080)",
      )
      .option("--profile <name>", "take the address from this profile")
      .option(
        "--wait <duration>",
        "wait up to this long for the server to become ready (e.g. 30s)",
        durationArg,
      ),
  );
  status.addHelpText(
    "after",
    "\nExits 0 when ready, 1 when up but not ready, 7 when the server cannot be reached.",
  );
  withExamples(status, [
    ["is it up?", "latchkey status"],
    ["wait for a server that is starting", "latchkey status --addr http://127.0.0.1:8080 --wait 30s"],
  ]).action(
    handler<{ wait?: number }>(async (ctx, flags) => {
      const addr = resolveConnection({ addr: ctx.flags.addr, profile: ctx.flags.profile }).addr;
      const client = new Client(addr, undefined, 5_000);
      const deadline = Date.now() + (flags.wait ?? 0) * 1000;
      let result: { addr: string; live: boolean; ready: boolean };
      for (;;) {
        try {
          const live = (await client.probe("/healthz")).status === 200;
          const ready = live && (await client.probe("/readyz")).status === 200;
          result = { addr, live, ready };
          if (ready || Date.now() >= deadline) break;
        } catch (error) {
          if (!(error instanceof CliError) || Date.now() >= deadline) throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      if (!result.ready) process.exitCode = EXIT.failure;
      if (ctx.out.json) return ctx.out.printJson(result);
      const p = ctx.out.p;
      const state = result.ready
        ? p.green("ready")
        : result.live
          ? p.yellow("up, but not ready")
          : p.red("not live");
      ctx.out.line(`${addr}: ${state}`);
    }),
  );
}
