import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Command } from "commander";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionScript } from "../../src/cli/completion.ts";
import { buildProgram } from "../../src/cli/program.ts";
import { hasCommand } from "./helpers.ts";

function everyCommand(command: Command, path: string[] = []): { path: string[]; command: Command }[] {
  return [{ path, command }, ...command.commands.flatMap((c) => everyCommand(c, [...path, c.name()]))];
}

function helpOf(command: Command): string {
  let text = "";
  command.configureOutput({ writeOut: (s) => (text += s) });
  command.outputHelp();
  return text;
}

describe("help", () => {
  const program = buildProgram();
  const all = everyCommand(program);

  it("has examples on every command", () => {
    expect(all.length).toBeGreaterThan(30);
    for (const { path, command } of all) {
      const help = helpOf(command);
      expect(help, path.join(" ")).toContain("Examples:\n");
      expect(help, path.join(" ")).toMatch(/^ {2}\$ (source <\()?latchkey /m);
    }
  });

  it("gives every command that does something a --json flag", () => {
    // `help` only prints help.
    const leaves = all.filter(({ command }) => command.commands.length === 0 && command.name() !== "help");
    for (const { path, command } of leaves) {
      expect(
        command.options.some((o) => o.long === "--json"),
        path.join(" "),
      ).toBe(true);
    }
  });

  it("keeps the synopsis scripts rely on", () => {
    const flags = (path: string) => {
      const found = all.find((c) => c.path.join(" ") === path);
      if (!found) throw new Error(`no command ${path}`);
      return found.command.options.map((o) => o.long);
    };
    expect(flags("sa create")).toEqual(expect.arrayContaining(["--project", "--role", "--scope"]));
    expect(flags("token create")).toEqual(
      expect.arrayContaining([
        "--project",
        "--sa",
        "--name",
        "--ttl",
        "--access",
        "--format",
        "--description",
        "--owner",
        "--output-file",
        "--quiet",
      ]),
    );
    expect(flags("token list")).toEqual(expect.arrayContaining(["--project", "--sa"]));
    expect(flags("token rotate")).toEqual(
      expect.arrayContaining(["--grace", "--previous-expires-at", "--retire-on-first-use"]),
    );
    expect(flags("token revoke")).toEqual(expect.arrayContaining(["--yes", "--sa", "--all"]));
    expect(flags("audit tail")).toEqual(expect.arrayContaining(["--follow"]));
  });
});

describe("shell completion", () => {
  let dir = "";
  const scripts: Record<string, string> = {};
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "latchkey-completion-"));
    for (const shell of ["bash", "zsh", "fish"] as const) {
      scripts[shell] = join(dir, `latchkey.${shell}`);
      writeFileSync(scripts[shell], completionScript(buildProgram(), shell));
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const shellRun = (shell: string, script: string) => {
    const run = spawnSync(shell, ["-c", script], { encoding: "utf8", timeout: 20_000 });
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    return run.stdout;
  };

  it("bash completes commands, subcommands, flags and flag values", () => {
    const out = shellRun(
      "bash",
      `source ${scripts.bash}
c() { COMP_WORDS=("$@"); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _latchkey; echo "\${COMPREPLY[*]}"; }
c latchkey to
c latchkey token ""
c latchkey token rotate --g
c latchkey sa create deployer --role ""
c latchkey token create --access r
c latchkey completion ""
c latchkey --json token rev`,
    );
    expect(out.split("\n")).toEqual([
      "token",
      "create request list get update rotate revoke",
      "--grace",
      "viewer contributor admin owner",
      "read-only read-write",
      "bash zsh fish",
      "revoke",
      "",
    ]);
  });

  it.skipIf(!hasCommand("zsh"))("zsh completes the same way", () => {
    const out = shellRun(
      "zsh",
      `source ${scripts.zsh}
compadd() { shift; print -r -- "$*"; }
words=(latchkey token ""); CURRENT=3; _latchkey
words=(latchkey sa create x --scope ""); CURRENT=6; _latchkey
words=(latchkey audit tail --f); CURRENT=4; _latchkey`,
    );
    expect(out.split("\n")[0]).toBe("create request list get update rotate revoke");
    expect(out.split("\n")[1]).toBe("project organization");
    expect(out.split("\n")[2]).toContain("--follow");
  });

  it.skipIf(!hasCommand("fish"))("fish completes with descriptions", () => {
    const out = shellRun(
      "fish",
      `source ${scripts.fish}
complete -C 'latchkey token ro'
complete -C 'latchkey sa create x --role '`,
    );
    expect(out).toContain("rotate\tRotate a token");
    expect(out).toContain("contributor\t");
    expect(out).toContain("owner\t");
  });
});
