import type { Command, Option } from "commander";

/**
 * Shell completion scripts, generated from the command tree itself so that they never fall
 * behind: commands and subcommands, each command's flags, and the values of flags with choices.
 */

interface FlagInfo {
  long: string | undefined;
  short: string | undefined;
  description: string;
  takesValue: boolean;
  choices: string[];
  file: boolean;
}

interface Node {
  /** "latchkey", "latchkey token", "latchkey token create". */
  path: string;
  subcommands: { name: string; description: string }[];
  flags: FlagInfo[];
}

function flagInfo(option: Option): FlagInfo {
  return {
    long: option.long,
    short: option.short,
    description: option.description,
    takesValue: option.required || option.optional,
    choices: option.argChoices ?? [],
    file: /file/.test(option.long ?? ""),
  };
}

function collect(command: Command, path: string, out: Node[]): void {
  const subcommands = command.commands.flatMap((c) =>
    [c.name(), ...c.aliases()].map((name) => ({ name, description: c.description() })),
  );
  // A positional argument with choices (`completion <shell>`) completes like a subcommand.
  for (const argument of command.registeredArguments) {
    for (const choice of argument.argChoices ?? [])
      subcommands.push({ name: choice, description: argument.description });
  }
  const help: FlagInfo = {
    long: "--help",
    short: "-h",
    description: "show help",
    takesValue: false,
    choices: [],
    file: false,
  };
  out.push({ path, subcommands, flags: [...command.options.map(flagInfo), help] });
  for (const sub of command.commands) {
    for (const name of [sub.name(), ...sub.aliases()]) collect(sub, `${path} ${name}`, out);
  }
}

export function commandTree(program: Command): Node[] {
  const out: Node[] = [];
  collect(program, program.name(), out);
  return out;
}

const flagNames = (f: FlagInfo) => [f.long, f.short].filter((n): n is string => n !== undefined);

/** `a|b|c` for a case pattern; a pattern that matches nothing when there are none. */
const alternatives = (patterns: string[]) => (patterns.length > 0 ? patterns.join("|") : '"-"');

/** Case-statement helpers shared by bash and zsh (the same syntax in both). */
function shellHelpers(nodes: Node[]): string {
  const subs = nodes
    .filter((n) => n.subcommands.length > 0)
    .map((n) => `    "${n.path}") echo "${n.subcommands.map((s) => s.name).join(" ")}" ;;`);
  const flags = nodes.map((n) => `    "${n.path}") echo "${n.flags.flatMap(flagNames).join(" ")}" ;;`);
  const valued = nodes.flatMap((n) =>
    n.flags.filter((f) => f.takesValue).flatMap((f) => flagNames(f).map((name) => `"${n.path} ${name}"`)),
  );
  const choices = nodes.flatMap((n) =>
    n.flags
      .filter((f) => f.choices.length > 0)
      .flatMap((f) =>
        flagNames(f).map((name) => `    "${n.path} ${name}") echo "${f.choices.join(" ")}" ;;`),
      ),
  );
  const files = nodes.flatMap((n) =>
    n.flags.filter((f) => f.file).flatMap((f) => flagNames(f).map((name) => `"${n.path} ${name}"`)),
  );
  return [
    "_latchkey_subcommands() {",
    '  case "$1" in',
    ...subs,
    "  esac",
    "}",
    "_latchkey_flags() {",
    '  case "$1" in',
    ...flags,
    "  esac",
    "}",
    "_latchkey_takes_value() {",
    '  case "$1 $2" in',
    `    ${alternatives(valued)}) return 0 ;;`,
    "  esac",
    "  return 1",
    "}",
    "_latchkey_choices() {",
    '  case "$1 $2" in',
    ...choices,
    "  esac",
    "}",
    "_latchkey_is_file() {",
    '  case "$1 $2" in',
    `    ${alternatives(files)}) return 0 ;;`,
    "  esac",
    "  return 1",
    "}",
    // The command path of words[first..last-1]: known subcommands only, flag values skipped.
    "_latchkey_path() {",
    "  local cmdpath=latchkey skip=0 w subs",
    '  for w in "$@"; do',
    '    if [ "$skip" = 1 ]; then skip=0; continue; fi',
    '    case "$w" in',
    '      -*) _latchkey_takes_value "$cmdpath" "$w" && skip=1; continue ;;',
    "    esac",
    '    subs=" $(_latchkey_subcommands "$cmdpath") "',
    '    case "$subs" in',
    '      *" $w "*) cmdpath="$cmdpath $w" ;;',
    "    esac",
    "  done",
    '  echo "$cmdpath"',
    "}",
  ].join("\n");
}

function bash(nodes: Node[]): string {
  return `# latchkey completion for bash.
# Load it now:        source <(latchkey completion bash)
# Or for every shell: latchkey completion bash > ~/.local/share/bash-completion/completions/latchkey
${shellHelpers(nodes)}
_latchkey() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" cmdpath words
  cmdpath="$(_latchkey_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  if [ "$COMP_CWORD" -gt 1 ] && _latchkey_takes_value "$cmdpath" "$prev"; then
    words="$(_latchkey_choices "$cmdpath" "$prev")"
    if [ -n "$words" ]; then
      COMPREPLY=($(compgen -W "$words" -- "$cur"))
    elif _latchkey_is_file "$cmdpath" "$prev"; then
      COMPREPLY=($(compgen -f -- "$cur"))
    else
      COMPREPLY=()
    fi
    return 0
  fi
  case "$cur" in
    -*) COMPREPLY=($(compgen -W "$(_latchkey_flags "$cmdpath")" -- "$cur")) ;;
    *) COMPREPLY=($(compgen -W "$(_latchkey_subcommands "$cmdpath")" -- "$cur")) ;;
  esac
  return 0
}
complete -F _latchkey latchkey
`;
}

function zsh(nodes: Node[]): string {
  return `#compdef latchkey
# latchkey completion for zsh.
# Load it now (after compinit): source <(latchkey completion zsh)
# Or for every shell: latchkey completion zsh > "\${fpath[1]}/_latchkey"
${shellHelpers(nodes)}
_latchkey() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmdpath choices
  cmdpath="$(_latchkey_path "\${(@)words[2,CURRENT-1]}")"
  if (( CURRENT > 2 )) && _latchkey_takes_value "$cmdpath" "$prev"; then
    choices="$(_latchkey_choices "$cmdpath" "$prev")"
    if [[ -n "$choices" ]]; then
      compadd -- \${=choices}
    elif _latchkey_is_file "$cmdpath" "$prev"; then
      _files
    fi
    return 0
  fi
  if [[ "$cur" == -* ]]; then
    compadd -- \${=$(_latchkey_flags "$cmdpath")}
  else
    compadd -- \${=$(_latchkey_subcommands "$cmdpath")}
  fi
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _latchkey "$@"
elif (( $+functions[compdef] )); then
  compdef _latchkey latchkey
fi
`;
}

const fishQuote = (text: string) => `'${text.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;

function fish(nodes: Node[]): string {
  const subs = nodes
    .filter((n) => n.subcommands.length > 0)
    .map(
      (n) =>
        `        case ${fishQuote(n.path)}\n            printf '%s\\n' ${n.subcommands.map((s) => s.name).join(" ")}`,
    );
  const valued = nodes.flatMap((n) =>
    n.flags
      .filter((f) => f.takesValue)
      .flatMap((f) => flagNames(f).map((name) => fishQuote(`${n.path} ${name}`))),
  );
  const lines: string[] = [];
  for (const n of nodes) {
    const when = `-n ${fishQuote(`test (__latchkey_path) = ${fishQuote(n.path)}`)}`;
    for (const s of n.subcommands) {
      lines.push(`complete -c latchkey ${when} -a ${fishQuote(s.name)} -d ${fishQuote(s.description)}`);
    }
    for (const f of n.flags) {
      const names = [
        f.long ? `-l ${f.long.replace(/^--/, "")}` : "",
        f.short ? `-s ${f.short.replace(/^-/, "")}` : "",
      ].filter(Boolean);
      const value =
        f.choices.length > 0
          ? `-x -a ${fishQuote(f.choices.join(" "))}`
          : f.file
            ? "-r -F"
            : f.takesValue
              ? "-x"
              : "";
      lines.push(
        `complete -c latchkey ${when} ${[...names, value].filter(Boolean).join(" ")} -d ${fishQuote(f.description)}`,
      );
    }
  }
  return `# latchkey completion for fish.
# Load it now:        latchkey completion fish | source
# Or for every shell: latchkey completion fish > ~/.config/fish/completions/latchkey.fish
function __latchkey_subcommands
    switch $argv[1]
${subs.join("\n")}
    end
end
function __latchkey_takes_value
    switch "$argv[1] $argv[2]"
        case ${valued.join(" ") || "'-'"}
            return 0
    end
    return 1
end
function __latchkey_path
    set -l cmdpath latchkey
    set -l skip 0
    set -l words (commandline -opc)
    set -e words[1]
    for w in $words
        if test $skip = 1
            set skip 0
            continue
        end
        if string match -q -- '-*' $w
            if __latchkey_takes_value "$cmdpath" $w
                set skip 1
            end
            continue
        end
        if contains -- $w (__latchkey_subcommands "$cmdpath")
            set cmdpath "$cmdpath $w"
        end
    end
    echo $cmdpath
end
complete -c latchkey -f
${lines.join("\n")}
`;
}

export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

export function completionScript(program: Command, shell: Shell): string {
  const nodes = commandTree(program);
  return shell === "bash" ? bash(nodes) : shell === "zsh" ? zsh(nodes) : fish(nodes);
}
