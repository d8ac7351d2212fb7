import { type Command, Option } from "commander";
import { Client } from "./client.ts";
import { type Connection, type ConnectionFlags, resolveConnection } from "./config.ts";
import { Output, type OutputFlags } from "./output.ts";

export interface CommonFlags extends OutputFlags, ConnectionFlags {}

/** What an action gets: its output, and (lazily) the connection and an API client. */
export class Ctx {
  readonly out: Output;
  #connection: Connection | undefined;
  #client: Client | undefined;

  constructor(readonly flags: CommonFlags) {
    this.out = new Output(flags);
  }

  get connection(): Connection {
    this.#connection ??= resolveConnection(this.flags);
    return this.#connection;
  }

  get client(): Client {
    this.#client ??= new Client(this.connection.addr, this.connection.token, timeoutMs());
    return this.#client;
  }
}

/** LATCHKEY_TIMEOUT (a duration in seconds, e.g. `30`) bounds each request; 30 s by default. */
function timeoutMs(): number {
  const seconds = Number(process.env.LATCHKEY_TIMEOUT);
  return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 30_000;
}

/**
 * Commands that get the shared flags. They are added by {@link addSharedOptions} once every
 * command is defined, so that a command's own flags come first in its help.
 */
const shared = new Map<Command, { connection: boolean }>();

/** `--json` and `--no-color`: every command has them. */
export function withOutputOptions(command: Command): Command {
  if (!shared.has(command)) shared.set(command, { connection: false });
  return command;
}

/** `--addr`, `--token`, `--profile` as well: every command that talks to a server has them. */
export function withConnectionOptions(command: Command): Command {
  shared.set(command, { connection: true });
  return command;
}

export function addSharedOptions(): void {
  for (const [command, { connection }] of shared) {
    command
      .addOption(new Option("--json", "print JSON for scripts (see docs/cli.md)").helpGroup("Output:"))
      .addOption(new Option("--no-color", "no colours (also: NO_COLOR=1)").helpGroup("Output:"));
    if (!connection) continue;
    command
      .addOption(
        new Option(
          "--addr <url>",
          "server address (env LATCHKEY_ADDR; default http://127.0.0.1:8080)",
        ).helpGroup("Connection:"),
      )
      .addOption(
        new Option(
          "--token <token>",
          "token to authenticate with (env LATCHKEY_TOKEN; visible to `ps`)",
        ).helpGroup("Connection:"),
      )
      .addOption(
        new Option(
          "--profile <name>",
          "saved profile to use (env LATCHKEY_PROFILE; see `latchkey login`)",
        ).helpGroup("Connection:"),
      );
  }
  shared.clear();
}

/** Adds an "Examples:" section to a command's help: pairs of (what it does, the command line). */
export function withExamples(command: Command, examples: [string, string][]): Command {
  const lines = examples.flatMap(([what, line]) => [...(what ? [`  # ${what}`] : []), `  $ ${line}`]);
  return command.addHelpText("after", `\nExamples:\n${lines.join("\n")}`);
}

/**
 * Wraps an action: positional arguments first, then the command's own flags merged over the
 * program's, and a {@link Ctx} built from them.
 */
export function handler<F extends object>(
  run: (ctx: Ctx, flags: F & CommonFlags, args: (string | undefined)[]) => Promise<void>,
) {
  return async (...params: unknown[]): Promise<void> => {
    const command = params[params.length - 1] as Command;
    const flags = command.optsWithGlobals<F & CommonFlags>();
    const args = params.slice(0, -2) as (string | undefined)[];
    await run(new Ctx(flags), flags, args);
  };
}

/** A command that talks to the server: its own flags, plus the output and connection flags. */
export function leaf(parent: Command, nameAndArgs: string, description: string): Command {
  return withConnectionOptions(withOutputOptions(parent.command(nameAndArgs).description(description)));
}

/** `-q, --quiet` on lists: only the names or ids, one per line. */
export const quietOption = (what: string): Option =>
  new Option("-q, --quiet", `print only the ${what}`).conflicts("json");
