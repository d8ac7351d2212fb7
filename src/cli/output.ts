/** Everything the CLI prints: tables and details for people, JSON for scripts, colour only on a terminal. */

export interface OutputFlags {
  json?: boolean;
  /** false after `--no-color`. */
  color?: boolean;
}

/**
 * Colour on a stream: only when it is a terminal, and never with `--no-color`, a non-empty
 * `NO_COLOR` (https://no-color.org) or `TERM=dumb`.
 */
export function colorEnabled(
  stream: { isTTY?: boolean },
  flags: OutputFlags,
  env: NodeJS.ProcessEnv = process.env,
): boolean {
  if (flags.color === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  if (env.TERM === "dumb") return false;
  return stream.isTTY === true;
}

const sgr = (open: number, close: number) => (enabled: boolean) => (text: string) =>
  enabled && text ? `\u001b[${open}m${text}\u001b[${close}m` : text;

const styles = {
  bold: sgr(1, 22),
  dim: sgr(2, 22),
  red: sgr(31, 39),
  green: sgr(32, 39),
  yellow: sgr(33, 39),
  cyan: sgr(36, 39),
};

export type Paint = { [K in keyof typeof styles]: (text: string) => string };

export function paint(enabled: boolean): Paint {
  return {
    bold: styles.bold(enabled),
    dim: styles.dim(enabled),
    red: styles.red(enabled),
    green: styles.green(enabled),
    yellow: styles.yellow(enabled),
    cyan: styles.cyan(enabled),
  };
}

/** Control characters from the server (user agents, details) must not drive the terminal. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
const visibleLength = (text: string): number => [...text.replace(ANSI, "")].length;

/** Columns separated by two spaces, each as wide as its widest cell; the last is not padded. */
export function renderTable(headers: string[], rows: string[][], p: Paint = paint(false)): string {
  const widths = headers.map((h, i) =>
    Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ""))),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - visibleLength(cell))))
      .join("  ")
      .trimEnd();
  return [line(headers.map((h) => p.bold(h))), ...rows.map(line)].join("\n") + "\n";
}

/** `label  value` pairs, labels aligned; pairs with an undefined value are left out. */
export function renderDetails(pairs: [string, string | undefined][], p: Paint = paint(false)): string {
  const shown = pairs.filter((pair): pair is [string, string] => pair[1] !== undefined);
  const width = Math.max(0, ...shown.map(([label]) => label.length));
  return shown.map(([label, value]) => `${p.dim(label.padEnd(width))}  ${value}`.trimEnd()).join("\n") + "\n";
}

const plural = (n: number, unit: string) => `${n} ${unit}${n === 1 ? "" : "s"}`;

/** "in 6 days", "3 hours ago", "just now": the unit is the largest that reads naturally. */
export function relativeTime(iso: string, now: Date): string {
  const ms = Date.parse(iso) - now.getTime();
  if (Number.isNaN(ms)) return iso;
  const seconds = Math.abs(ms) / 1000;
  if (seconds < 1) return "just now";
  let text: string;
  if (Math.round(seconds) < 60) text = plural(Math.round(seconds), "second");
  else if (Math.round(seconds / 60) < 60) text = plural(Math.round(seconds / 60), "minute");
  else if (Math.round(seconds / 3600) < 48) text = plural(Math.round(seconds / 3600), "hour");
  else if (Math.round(seconds / 86400) < 730) text = plural(Math.round(seconds / 86400), "day");
  else text = plural(Math.round(seconds / (365.25 * 86400)), "year");
  return ms > 0 ? `in ${text}` : `${text} ago`;
}

/** "in 30 days (2030-01-01T00:00:00.000Z)". */
export const relativeAndAbsolute = (iso: string, now: Date): string => `${relativeTime(iso, now)} (${iso})`;

/** How long a number of seconds is, in the largest whole unit: "24 hours", "90 days", "10 minutes". */
export function durationText(seconds: number): string {
  if (seconds === 0) return "0 seconds";
  for (const [unit, size] of [
    ["day", 86400],
    ["hour", 3600],
    ["minute", 60],
  ] as const) {
    if (seconds % size === 0) return plural(seconds / size, unit);
  }
  return plural(seconds, "second");
}

/** Writes what a command prints. Nothing else in the CLI touches stdout or stderr directly. */
export class Output {
  readonly json: boolean;
  /** Paint for stdout and for stderr: each stream is a terminal or not on its own. */
  readonly p: Paint;
  readonly pErr: Paint;
  readonly now: () => Date;

  constructor(
    flags: OutputFlags,
    private readonly stdout: NodeJS.WriteStream = process.stdout,
    private readonly stderr: NodeJS.WriteStream = process.stderr,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.json = flags.json === true;
    this.p = paint(colorEnabled(stdout, flags, env));
    this.pErr = paint(colorEnabled(stderr, flags, env));
    this.now = () => new Date();
  }

  get stderrIsTerminal(): boolean {
    return this.stderr.isTTY === true;
  }

  /** Text on stdout as is. */
  out(text: string): void {
    this.stdout.write(text);
  }

  /** One line on stdout. */
  line(text = ""): void {
    this.stdout.write(`${text}\n`);
  }

  /** A message for people on stderr (warnings, progress, hints); never part of a command's output. */
  note(text: string): void {
    this.stderr.write(`${text}\n`);
  }

  /** The `--json` output of a command: one document, two-space indented. */
  printJson(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  /** One compact JSON document per line (streams: `audit tail --json`). */
  printJsonLine(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  table(headers: string[], rows: string[][], empty = "(none)"): void {
    if (rows.length === 0) {
      this.note(this.pErr.dim(empty));
      return;
    }
    this.out(
      renderTable(
        headers,
        rows.map((r) => r.map(printable)),
        this.p,
      ),
    );
  }

  details(pairs: [string, string | undefined][]): void {
    this.out(
      renderDetails(
        pairs.map(([label, value]) => [label, value === undefined ? undefined : printable(value)]),
        this.p,
      ),
    );
  }

  /** A progress line on a terminal's stderr, rewritten in place; silent elsewhere. */
  progress(): { update(text: string): void; done(): void } {
    const active = this.stderrIsTerminal;
    let shown = false;
    return {
      update: (text: string) => {
        if (!active) return;
        this.stderr.write(`\r\u001b[2K${text}`);
        shown = true;
      },
      done: () => {
        if (active && shown) this.stderr.write("\r\u001b[2K");
      },
    };
  }
}
