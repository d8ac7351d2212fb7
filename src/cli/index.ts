import { CommanderError } from "commander";
import { CliError, EXIT } from "./errors.ts";
import { colorEnabled, paint } from "./output.ts";
import { buildProgram, wantsJson } from "./program.ts";

/** Writes a failure to stderr: `latchkey: message (code)` and a hint, or one JSON line with --json. */
function report(error: CliError, json: boolean): void {
  if (json) {
    const body = {
      code: error.code,
      message: error.message,
      exit_code: error.exitCode,
      ...(error.status !== undefined ? { status: error.status } : {}),
      ...(error.hint !== undefined ? { hint: error.hint } : {}),
      ...(error.requestId !== undefined ? { request_id: error.requestId } : {}),
      ...(error.errors !== undefined ? { errors: error.errors } : {}),
    };
    process.stderr.write(`${JSON.stringify({ error: body })}\n`);
    return;
  }
  const p = paint(colorEnabled(process.stderr, { color: !process.argv.includes("--no-color") }));
  const plain = error.code === "usage_error" || error.code === "server_config";
  const lines = [`${p.red("latchkey:")} ${error.message}${plain ? "" : p.dim(` (${error.code})`)}`];
  if (error.hint) lines.push(`${p.bold("hint:")} ${error.hint}`);
  if (error.requestId && (error.status ?? 0) >= 500) lines.push(`request id: ${error.requestId}`);
  process.stderr.write(`${lines.join("\n")}\n`);
}

async function main(argv: string[]): Promise<number> {
  const json = wantsJson(argv.slice(2));
  const program = buildProgram({ json });
  try {
    await program.parseAsync(argv);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are not failures; a missing subcommand (help shown on stderr) is a usage error.
      if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return EXIT.ok;
      if (error.code === "commander.help") return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return EXIT.usage;
    }
    if (error instanceof CliError) {
      report(error, json);
      return error.exitCode;
    }
    // Anything else (a port in use, a full disk, a bug): say what, and exit even if handles are open.
    const message = error instanceof Error ? error.message : String(error);
    const hint = process.env.LATCHKEY_DEBUG ? undefined : "LATCHKEY_DEBUG=1 prints the stack trace";
    report(new CliError(message, { exitCode: EXIT.failure, code: "internal", hint }), json);
    if (process.env.LATCHKEY_DEBUG) process.stderr.write(`${(error as Error).stack ?? ""}\n`);
    process.exit(EXIT.failure);
  }
}

// A reader that stops early (`latchkey audit list --all | head`) is not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(EXIT.ok);
  throw error;
});

// Set, not process.exit(): stdout drains first, and the server keeps running after its action resolves.
process.exitCode = await main(process.argv);
