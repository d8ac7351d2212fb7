import { type Command, Option } from "commander";
import type { Project } from "../api.ts";
import { seg } from "../client.ts";
import { type Ctx, handler, leaf, quietOption, withExamples } from "../command.ts";
import { usageError } from "../errors.ts";
import { labelsText, mergedLabels } from "../labels.ts";
import { relativeAndAbsolute, relativeTime } from "../output.ts";
import { labelArg, listArg } from "../parse.ts";
import { confirm } from "../prompt.ts";

const path = (name: string) => `/v1/projects/${seg(name)}`;

function showProject(ctx: Ctx, project: Project): void {
  const now = ctx.out.now();
  ctx.out.details([
    ["name", project.name],
    ["id", project.id],
    ["description", project.description || undefined],
    ["labels", labelsText(project.labels) || undefined],
    ["created", `${relativeAndAbsolute(project.created_at, now)} by ${project.created_by}`],
    ["updated", relativeAndAbsolute(project.updated_at, now)],
  ]);
}

export function registerProject(program: Command): void {
  const project = program
    .command("project")
    .description("Projects: boundaries for names and permissions (`default` always exists)");
  withExamples(project, [
    ["list the projects you can see", "latchkey project list"],
    ["create one", "latchkey project create payments --description 'Payment services'"],
  ]);

  const list = leaf(project, "list", "List the projects you can see, by name").addOption(
    quietOption("names, one per line"),
  );
  withExamples(list, [
    ["a table for people", "latchkey project list"],
    ["the names, for a script", "latchkey project list --quiet"],
    ["everything, as JSON", "latchkey project list --json | jq -r '.items[].name'"],
  ]).action(
    handler<{ quiet?: boolean }>(async (ctx, flags) => {
      const items = await ctx.client.all<Project>("/v1/projects");
      if (ctx.out.json) return ctx.out.printJson({ items, next_cursor: null });
      if (flags.quiet) return items.forEach((p) => ctx.out.line(p.name));
      const now = ctx.out.now();
      ctx.out.table(
        ["NAME", "DESCRIPTION", "LABELS", "CREATED"],
        items.map((p) => [p.name, p.description, labelsText(p.labels), relativeTime(p.created_at, now)]),
        "No projects.",
      );
    }),
  );

  const create = leaf(project, "create <name>", "Create a project (organization-scoped admins and owners)")
    .option("--description <text>", "free text")
    .option("--label <key=value>", "a label (repeatable)", labelArg);
  withExamples(create, [
    [
      "a project for the payment services",
      "latchkey project create payments --description 'Payment services'",
    ],
    ["with labels", "latchkey project create payments --label team=pay --label tier=1"],
  ]).action(
    handler<{ description?: string; label?: Record<string, string> }>(async (ctx, flags, [name]) => {
      const created = await ctx.client.post<Project>("/v1/projects", {
        name,
        description: flags.description,
        labels: flags.label,
      });
      if (ctx.out.json) return ctx.out.printJson(created);
      ctx.out.line(`Created project ${ctx.out.p.bold(created.name)}.`);
    }),
  );

  const get = leaf(project, "get <name>", "Show a project");
  withExamples(get, [
    ["details for people", "latchkey project get payments"],
    ["as JSON", "latchkey project get payments --json"],
  ]).action(
    handler(async (ctx, _flags, [name]) => {
      const found = await ctx.client.get<Project>(path(name!));
      if (ctx.out.json) return ctx.out.printJson(found);
      showProject(ctx, found);
    }),
  );

  const update = leaf(project, "update <name>", "Change a project's description or labels")
    .option("--description <text>", 'free text ("" clears it)')
    .option("--label <key=value>", "set a label (repeatable)", labelArg)
    .option("--remove-label <key>", "remove a label (repeatable)", listArg);
  withExamples(update, [
    ["describe it", "latchkey project update payments --description 'Payment services (EU)'"],
    ["change labels", "latchkey project update payments --label tier=2 --remove-label legacy"],
  ]).action(
    handler<{ description?: string; label?: Record<string, string>; removeLabel?: string[] }>(
      async (ctx, flags, [name]) => {
        if (flags.description === undefined && !flags.label && !flags.removeLabel) {
          throw usageError("nothing to change", "give --description, --label or --remove-label");
        }
        let labels: Record<string, string> | undefined;
        if (flags.label || flags.removeLabel) {
          const current = await ctx.client.get<Project>(path(name!));
          labels = mergedLabels(current.labels, flags.label, flags.removeLabel);
        }
        const updated = await ctx.client.patch<Project>(path(name!), {
          description: flags.description,
          labels,
        });
        if (ctx.out.json) return ctx.out.printJson(updated);
        ctx.out.line(`Updated project ${ctx.out.p.bold(updated.name)}.`);
      },
    ),
  );

  const del = leaf(
    project,
    "delete <name>",
    "Delete an empty project (asks first; --yes in scripts)",
  ).addOption(new Option("-y, --yes", "do not ask for confirmation"));
  withExamples(del, [
    ["asks for confirmation on a terminal", "latchkey project delete payments"],
    ["in a script", "latchkey project delete payments --yes"],
  ]).action(
    handler<{ yes?: boolean }>(async (ctx, flags, [name]) => {
      // Fails with not_found before asking about a project that is not there.
      const found = await ctx.client.get<Project>(path(name!));
      await confirm(`Delete project ${found.name}?`, { yes: flags.yes, action: "delete a project" });
      await ctx.client.delete(path(found.name));
      if (ctx.out.json) return ctx.out.printJson({ project: found.name, deleted: true });
      ctx.out.line(`Deleted project ${ctx.out.p.bold(found.name)}.`);
    }),
  );
}
