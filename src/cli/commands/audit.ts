import { type Command, Option } from "commander";
import { type AuditEvent, type ChainVerification, OUTCOMES, type Page } from "../api.ts";
import type { Query } from "../client.ts";
import { type Ctx, handler, leaf, quietOption, withExamples } from "../command.ts";
import { EXIT } from "../errors.ts";
import { printable } from "../output.ts";
import { durationArg, intArg, timeOrAgoArg } from "../parse.ts";

interface FilterFlags {
  actor?: string;
  action?: string;
  target?: string;
  project?: string;
  outcome?: string;
  since?: string;
  until?: string;
}

const filterOptions = (command: Command): Command =>
  command
    .option("--actor <sa>", "only events by this service account (id or name)")
    .option("--action <action>", "only this action, e.g. token.rotate")
    .option("--target <target>", "only events about this target (id or name)")
    .option("-p, --project <name>", "only events in this project")
    .addOption(new Option("--outcome <outcome>", "only this outcome").choices(OUTCOMES))
    .option("--since <time>", "from this time on: RFC 3339, or a duration ago (24h, 7d)", timeOrAgoArg)
    .option("--until <time>", "before this time: RFC 3339, or a duration ago", timeOrAgoArg);

const filters = (f: FilterFlags): Query => ({
  actor: f.actor,
  action: f.action,
  target: f.target,
  project: f.project,
  outcome: f.outcome,
  since: f.since,
  until: f.until,
});

const actorText = (e: AuditEvent): string =>
  e.actor.service_account ? (e.actor.service_account.name ?? e.actor.service_account.id) : "-";
const targetText = (e: AuditEvent): string => `${e.target.type}:${e.target.name ?? e.target.id ?? "-"}`;
const timeText = (iso: string): string => iso.replace("T", " ").replace(/\.\d+Z$/, "Z");

function outcomeText(ctx: Ctx, outcome: string): string {
  const p = ctx.out.p;
  return outcome === "success" ? p.green(outcome) : outcome === "denied" ? p.yellow(outcome) : p.red(outcome);
}

const HEADERS = ["TIME", "ACTION", "OUTCOME", "ACTOR", "TARGET", "PROJECT"];
const row = (ctx: Ctx, e: AuditEvent): string[] => [
  timeText(e.time),
  e.action,
  outcomeText(ctx, e.outcome),
  actorText(e),
  targetText(e),
  e.project ?? "-",
];

export function registerAudit(program: Command): void {
  const audit = program
    .command("audit")
    .description("The audit log: every change and every denial, hash-chained");
  withExamples(audit, [
    ["the latest events", "latchkey audit list"],
    ["follow new events", "latchkey audit tail -f"],
    ["check the hash chain", "latchkey audit verify"],
  ]);

  const list = filterOptions(
    leaf(audit, "list", "List audit events, newest first")
      .option("--limit <n>", "events per page (1-500)", intArg(1, 500), 50)
      .option("--cursor <cursor>", "continue after a previous page (its next_cursor)")
      .option("--all", "every page, not just the first (shows progress on a terminal)")
      .addOption(quietOption("event ids, one per line")),
  );
  withExamples(list, [
    ["the 50 latest events", "latchkey audit list"],
    ["denials of the last day", "latchkey audit list --outcome denied --since 24h"],
    ["what happened to one token", "latchkey audit list --target 0b8f8a4e-1c7e-4c55-9a53-6f1f6f3c2a10"],
    ["everything, for an archive", "latchkey audit list --all --json > audit.json"],
  ]).action(
    handler<FilterFlags & { limit: number; cursor?: string; all?: boolean; quiet?: boolean }>(
      async (ctx, flags) => {
        const query = { ...filters(flags), limit: flags.all ? 500 : flags.limit, cursor: flags.cursor };
        if (!flags.all) {
          const page = await ctx.client.get<Page<AuditEvent>>("/v1/audit-events", query);
          if (ctx.out.json) return ctx.out.printJson(page);
          if (flags.quiet) return page.items.forEach((e) => ctx.out.line(e.id));
          ctx.out.table(
            HEADERS,
            page.items.map((e) => row(ctx, e)),
            "No audit events.",
          );
          if (page.next_cursor)
            ctx.out.note(ctx.out.pErr.dim(`More events: --cursor ${page.next_cursor}, or --all.`));
          return;
        }
        // Every page. JSON is streamed, so an archive of any size never sits in memory.
        const progress = ctx.out.progress();
        const rows: string[][] = [];
        let count = 0;
        if (ctx.out.json) ctx.out.out('{\n  "items": [');
        let cursor = flags.cursor;
        do {
          const page = await ctx.client.get<Page<AuditEvent>>("/v1/audit-events", { ...query, cursor });
          for (const e of page.items) {
            if (ctx.out.json) ctx.out.out(`${count === 0 ? "" : ","}\n    ${JSON.stringify(e)}`);
            else if (flags.quiet) ctx.out.line(e.id);
            else rows.push(row(ctx, e));
            count += 1;
          }
          progress.update(`fetched ${count} events…`);
          cursor = page.next_cursor ?? undefined;
        } while (cursor);
        progress.done();
        if (ctx.out.json) ctx.out.out(`${count === 0 ? "" : "\n  "}],\n  "next_cursor": null\n}\n`);
        else if (!flags.quiet) ctx.out.table(HEADERS, rows, "No audit events.");
      },
    ),
  );

  const tail = filterOptions(
    leaf(audit, "tail", "Show the latest events, oldest first; with -f, keep printing new ones")
      .option("-f, --follow", "keep polling for new events until interrupted (Ctrl-C)")
      .option("-n, --lines <n>", "how many of the latest events to show first", intArg(0, 500), 10)
      .option("--interval <duration>", "how often to poll with -f", durationArg, 2),
  );
  tail.addHelpText("after", "\nWith --json, one event per line (JSON Lines), oldest first.");
  withExamples(tail, [
    ["the last 10 events", "latchkey audit tail"],
    ["watch denials as they happen", "latchkey audit tail -f --outcome denied"],
    ["feed a log pipeline", "latchkey audit tail -f --json | your-shipper"],
  ]).action(
    handler<FilterFlags & { follow?: boolean; lines: number; interval: number }>(async (ctx, flags) => {
      // A stream has no table to measure, so the columns get fixed widths.
      const widths = [20, 26, 7, 16, 32];
      const line = (cells: string[], outcome: (text: string) => string = (t) => t) =>
        cells
          .map((cell, i) => {
            const padded = i < widths.length ? cell.padEnd(widths[i]!) : cell;
            return i === 2 ? outcome(padded) : padded;
          })
          .join("  ")
          .trimEnd();
      const print = (e: AuditEvent) => {
        if (ctx.out.json) return ctx.out.printJsonLine(e);
        const cells = [timeText(e.time), e.action, e.outcome, actorText(e), targetText(e), e.project ?? "-"];
        ctx.out.line(line(cells.map(printable), (t) => outcomeText(ctx, t)));
      };
      const query = filters(flags);
      const first = await ctx.client.get<Page<AuditEvent>>("/v1/audit-events", {
        ...query,
        limit: Math.max(flags.lines, 1),
      });
      const shown = flags.lines === 0 ? [] : first.items;
      if (!ctx.out.json && shown.length > 0) ctx.out.line(ctx.out.p.bold(line(HEADERS)));
      shown.slice().reverse().forEach(print);
      if (!flags.follow) return;
      let newest = first.items[0]?.id;
      for (;;) {
        await new Promise((resolve) => setTimeout(resolve, Math.max(flags.interval, 1) * 1000));
        // Newest first, page by page, until the newest event already shown.
        const fresh: AuditEvent[] = [];
        let cursor: string | undefined;
        outer: do {
          const page = await ctx.client.get<Page<AuditEvent>>("/v1/audit-events", {
            ...query,
            limit: 100,
            cursor,
          });
          for (const e of page.items) {
            if (e.id === newest) break outer;
            fresh.push(e);
          }
          cursor = newest === undefined ? undefined : (page.next_cursor ?? undefined);
        } while (cursor);
        if (fresh.length > 0) newest = fresh[0]!.id;
        fresh.reverse().forEach(print);
      }
    }),
  );

  const verify = leaf(
    audit,
    "verify",
    "Verify the audit log's hash chain (organization-scoped admins and owners)",
  );
  verify.addHelpText("after", "\nExits 0 when the chain is intact, 1 when it is broken.");
  withExamples(verify, [
    ["check the whole chain", "latchkey audit verify"],
    ["in monitoring", "latchkey audit verify --json | jq -e .valid"],
  ]).action(
    handler(async (ctx) => {
      const result = await ctx.client.get<ChainVerification>("/v1/audit-events", { verify: true });
      if (!result.valid) process.exitCode = EXIT.failure;
      if (ctx.out.json) return ctx.out.printJson(result);
      const p = ctx.out.p;
      if (result.valid) {
        ctx.out.line(
          `${p.green("intact")}: ${result.events_checked} events checked, last hash ${result.last_hash}`,
        );
      } else {
        ctx.out.line(
          `${p.red("broken")}: the chain breaks at event ${result.first_invalid_event_id} ` +
            `after ${result.events_checked} intact events`,
        );
      }
    }),
  );
}
