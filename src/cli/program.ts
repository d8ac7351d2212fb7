import { Command } from "commander";
import { addSharedOptions, withExamples, withOutputOptions } from "./command.ts";
import { registerAudit } from "./commands/audit.ts";
import { registerKeys } from "./commands/keys.ts";
import { registerProject } from "./commands/project.ts";
import { registerServiceAccount } from "./commands/sa.ts";
import { registerServer } from "./commands/server.ts";
import { registerStore } from "./commands/store.ts";
import { registerSession } from "./commands/session.ts";
import { registerToken } from "./commands/token.ts";
import { registerVerify } from "./commands/verify.ts";
import { usageError } from "./errors.ts";
import { completionScript, SHELLS, type Shell } from "./completion.ts";
import { VERSION } from "./version.ts";

/** Whether the command line asks for JSON (errors are then reported as JSON too). */
export const wantsJson = (argv: string[]): boolean => {
  const end = argv.indexOf("--");
  return (end === -1 ? argv : argv.slice(0, end)).includes("--json");
};

/**
 * The whole `latchkey` command tree. Nothing runs until it is parsed; errors surface as
 * CommanderError (usage) or CliError (everything else), which index.ts turns into exit statuses.
 */
export function buildProgram(options: { json?: boolean } = {}): Command {
  const program = new Command()
    .name("latchkey")
    .description("Service accounts and API tokens for machines: the server and its command line")
    .version(VERSION, "-V, --version", "print the version")
    .helpOption("-h, --help", "show help (every command has examples)")
    .helpCommand(false)
    .showSuggestionAfterError()
    .configureOutput({
      // Usage errors look like every other error: "latchkey: …" and a hint, or one JSON line.
      outputError: (text, write) => {
        const message = text.trim().replace(/^error: /, "");
        if (options.json) {
          write(`${JSON.stringify({ error: { code: "usage_error", message, exit_code: 2 } })}\n`);
        } else {
          write(`latchkey: ${message}\nhint: add --help for the usage and examples\n`);
        }
      },
    })
    .exitOverride();

  program.addHelpText(
    "after",
    `
Connection: \`latchkey login\` saves an address and token as a profile; or set LATCHKEY_ADDR and
LATCHKEY_TOKEN; or pass --addr and --token. Every command takes --json for scripts.
Exit status: 0 ok, 1 failure, 2 usage, 3 unauthenticated, 4 not found, 5 permission denied,
6 conflict, 7 server unreachable (docs/cli.md).`,
  );
  withExamples(program, [
    [
      "log in with a token",
      "latchkey login --addr http://127.0.0.1:8080 --token-file ./data/bootstrap-token",
    ],
    ["create a service account and a token", "latchkey sa create deployer --role contributor"],
    ["", "latchkey token create --sa deployer --name ci --ttl 30d"],
    ["help on one command", "latchkey token create --help"],
  ]);

  registerSession(program);
  registerProject(program);
  registerServiceAccount(program);
  registerToken(program);
  registerAudit(program);
  registerKeys(program);
  registerVerify(program);

  const completion = withOutputOptions(
    program
      .command("completion")
      .description("Print a shell completion script (bash, zsh or fish)")
      .addArgument(
        new Command().createArgument("<shell>", "bash, zsh or fish").choices(SHELLS as unknown as string[]),
      ),
  );
  withExamples(completion, [
    ["bash, now", "source <(latchkey completion bash)"],
    ["bash, for good", "latchkey completion bash > ~/.local/share/bash-completion/completions/latchkey"],
    ["zsh (after compinit)", "source <(latchkey completion zsh)"],
    ["fish", "latchkey completion fish > ~/.config/fish/completions/latchkey.fish"],
  ]).action(async (shell: Shell, flags: { json?: boolean }) => {
    const script = completionScript(program, shell);
    process.stdout.write(flags.json ? `${JSON.stringify({ shell, script }, null, 2)}\n` : script);
  });

  registerServer(program);
  registerStore(program);

  // `latchkey help token create`: any depth (commander's own help command looks one level down).
  const help = program.command("help [command...]").description("show help for a command");
  withExamples(help, [["help on one command", "latchkey help token create"]]).action((words: string[]) => {
    let command: Command = program;
    for (const word of words) {
      const next = command.commands.find((c) => c.name() === word || c.aliases().includes(word));
      if (!next)
        throw usageError(`unknown command "${words.join(" ")}"`, "`latchkey help` lists the commands");
      command = next;
    }
    command.outputHelp();
  });
  addSharedOptions();
  return program;
}
