import { createInterface } from "node:readline";
import { CliError, EXIT } from "./errors.ts";

/** True when a person can be asked: both the keyboard (stdin) and the prompt's stream (stderr) are a terminal. */
export const canPrompt = (): boolean => process.stdin.isTTY === true && process.stderr.isTTY === true;

const aborted = () =>
  new CliError("aborted: nothing was changed", { exitCode: EXIT.failure, code: "aborted" });

/**
 * Asks before a destructive action. `--yes` skips the question; without a terminal and without
 * `--yes` the action is refused (exit 2), so a script never hangs on a prompt nobody sees.
 */
export async function confirm(question: string, options: { yes?: boolean; action: string }): Promise<void> {
  if (options.yes) return;
  if (!canPrompt()) {
    throw new CliError(`refusing to ${options.action} without confirmation: there is no terminal to ask on`, {
      exitCode: EXIT.usage,
      code: "confirmation_required",
      hint: "pass --yes to confirm",
    });
  }
  const answer = await askLine(`${question} [y/N] `);
  if (!/^\s*y(es)?\s*$/i.test(answer)) throw aborted();
}

function askLine(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let answered = false;
    rl.on("SIGINT", () => {
      process.stderr.write("\n");
      rl.close();
    });
    rl.on("close", () => {
      if (!answered) reject(aborted());
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer);
    });
  });
}

/** Reads a secret from the terminal without echoing it. */
export function readSecret(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (error?: CliError) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (error) reject(error);
      else resolve(value.trim());
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") return finish();
        if (char === "\u0003") return finish(aborted());
        if (char === "\u0004") return value ? finish() : finish(aborted());
        if (char === "\u007f" || char === "\b") value = value.slice(0, -1);
        else if (char >= " ") value += char;
      }
    };
    // Echo is off before the question appears, so nothing typed after it can show.
    stdin.setEncoding("utf8");
    stdin.setRawMode(true);
    process.stderr.write(question);
    stdin.resume();
    stdin.on("data", onData);
  });
}

/** All of standard input (a token piped in with `--token-file -` or `verify -`). */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}
