import { type Command, Option } from "commander";
import { type Page, ROLES, SCOPES, type ServiceAccount, type Token } from "../api.ts";
import { seg } from "../client.ts";
import { type Ctx, handler, leaf, quietOption, withExamples } from "../command.ts";
import { usageError } from "../errors.ts";
import { labelsText, mergedLabels } from "../labels.ts";
import { relativeAndAbsolute, relativeTime } from "../output.ts";
import { labelArg, listArg, projectOf, serviceAccountRef } from "../parse.ts";
import { confirm } from "../prompt.ts";

export const saPath = (ref: { project: string; name: string }) =>
  `/v1/projects/${seg(ref.project)}/service-accounts/${seg(ref.name)}`;

export const projectOption = () =>
  new Option("-p, --project <name>", "the project (default: $LATCHKEY_PROJECT, else default)");

function showAccount(ctx: Ctx, sa: ServiceAccount): void {
  const now = ctx.out.now();
  const p = ctx.out.p;
  ctx.out.details([
    ["email", sa.email],
    ["id", sa.id],
    ["project", sa.project],
    ["name", sa.name],
    ["role", `${sa.role} (${sa.scope} scope)`],
    ["status", sa.disabled ? p.red("disabled") : p.green("enabled")],
    ["owner", sa.owner || undefined],
    ["description", sa.description || undefined],
    ["labels", labelsText(sa.labels) || undefined],
    ["created", `${relativeAndAbsolute(sa.created_at, now)} by ${sa.created_by}`],
    ["updated", relativeAndAbsolute(sa.updated_at, now)],
  ]);
}

interface EditFlags {
  project?: string;
  description?: string;
  owner?: string;
  role?: string;
  scope?: string;
  label?: Record<string, string>;
}

export function registerServiceAccount(program: Command): void {
  const sa = program
    .command("sa")
    .alias("service-account")
    .description("Service accounts: the machine identities that tokens belong to");
  withExamples(sa, [
    ["list the service accounts of a project", "latchkey sa list --project default"],
    ["create one for CI", "latchkey sa create deployer --project default --role contributor"],
  ]);

  const list = leaf(sa, "list", "List the service accounts of a project, by name")
    .addOption(projectOption())
    .addOption(quietOption("names, one per line"));
  withExamples(list, [
    ["a table for people", "latchkey sa list --project default"],
    ["emails, for a script", "latchkey sa list --project default --json | jq -r '.items[].email'"],
  ]).action(
    handler<{ project?: string; quiet?: boolean }>(async (ctx, flags) => {
      const project = projectOf(flags.project);
      const items = await ctx.client.all<ServiceAccount>(`/v1/projects/${seg(project)}/service-accounts`);
      if (ctx.out.json) return ctx.out.printJson({ items, next_cursor: null });
      if (flags.quiet) return items.forEach((a) => ctx.out.line(a.name));
      const now = ctx.out.now();
      const p = ctx.out.p;
      ctx.out.table(
        ["NAME", "ROLE", "SCOPE", "STATUS", "OWNER", "CREATED"],
        items.map((a) => [
          a.name,
          a.role,
          a.scope,
          a.disabled ? p.red("disabled") : "enabled",
          a.owner,
          relativeTime(a.created_at, now),
        ]),
        `No service accounts in project ${project}.`,
      );
    }),
  );

  const create = leaf(sa, "create <name>", "Create a service account (role and scope no higher than yours)")
    .addOption(projectOption())
    .addOption(
      new Option("-r, --role <role>", "viewer < contributor < admin < owner")
        .choices(ROLES)
        .default("viewer"),
    )
    .addOption(new Option("--scope <scope>", "where the role applies").choices(SCOPES).default("project"))
    .option("--description <text>", "free text")
    .option("--owner <text>", "who is responsible, for auditing")
    .option("--label <key=value>", "a label (repeatable)", labelArg);
  withExamples(create, [
    [
      "an account for CI",
      "latchkey sa create deployer --project default --role contributor --owner platform-team",
    ],
    [
      "an organization-wide auditor",
      "latchkey sa create auditor --project default --role viewer --scope organization",
    ],
  ]).action(
    handler<EditFlags>(async (ctx, flags, [name]) => {
      const project = projectOf(flags.project);
      const created = await ctx.client.post<ServiceAccount>(`/v1/projects/${seg(project)}/service-accounts`, {
        name,
        role: flags.role,
        scope: flags.scope,
        description: flags.description,
        owner: flags.owner,
        labels: flags.label,
      });
      if (ctx.out.json) return ctx.out.printJson(created);
      ctx.out.line(
        `Created service account ${ctx.out.p.bold(created.email)} (${created.role}, ${created.scope} scope).`,
      );
    }),
  );

  const get = leaf(sa, "get <name-or-email>", "Show a service account").addOption(projectOption());
  withExamples(get, [
    ["by name", "latchkey sa get deployer --project default"],
    ["by email", "latchkey sa get deployer@default.serviceaccounts.latchkey --json"],
  ]).action(
    handler<{ project?: string }>(async (ctx, flags, [ref]) => {
      const found = await ctx.client.get<ServiceAccount>(saPath(serviceAccountRef(ref!, flags.project)));
      if (ctx.out.json) return ctx.out.printJson(found);
      showAccount(ctx, found);
    }),
  );

  const update = leaf(sa, "update <name-or-email>", "Change a service account (role, scope, owner, …)")
    .addOption(projectOption())
    .addOption(new Option("-r, --role <role>", "new role").choices(ROLES))
    .addOption(new Option("--scope <scope>", "new scope").choices(SCOPES))
    .option("--description <text>", 'free text ("" clears it)')
    .option("--owner <text>", 'who is responsible ("" clears it)')
    .addOption(new Option("--disable", "disable it: none of its tokens authenticate").conflicts("enable"))
    .option("--enable", "enable it again")
    .option("--label <key=value>", "set a label (repeatable)", labelArg)
    .option("--remove-label <key>", "remove a label (repeatable)", listArg);
  withExamples(update, [
    ["raise its role", "latchkey sa update deployer --project default --role admin"],
    ["stop all its tokens for a while", "latchkey sa update deployer --project default --disable"],
  ]).action(
    handler<EditFlags & { disable?: boolean; enable?: boolean; removeLabel?: string[] }>(
      async (ctx, flags, [ref]) => {
        const target = serviceAccountRef(ref!, flags.project);
        const disabled = flags.disable ? true : flags.enable ? false : undefined;
        const changes = [flags.role, flags.scope, flags.description, flags.owner, disabled, flags.label];
        if (changes.every((c) => c === undefined) && !flags.removeLabel) {
          throw usageError(
            "nothing to change",
            "give --role, --scope, --description, --owner, --disable, --enable, --label or --remove-label",
          );
        }
        let labels: Record<string, string> | undefined;
        if (flags.label || flags.removeLabel) {
          const current = await ctx.client.get<ServiceAccount>(saPath(target));
          labels = mergedLabels(current.labels, flags.label, flags.removeLabel);
        }
        const updated = await ctx.client.patch<ServiceAccount>(saPath(target), {
          role: flags.role,
          scope: flags.scope,
          description: flags.description,
          owner: flags.owner,
          disabled,
          labels,
        });
        if (ctx.out.json) return ctx.out.printJson(updated);
        ctx.out.line(`Updated service account ${ctx.out.p.bold(updated.email)}.`);
      },
    ),
  );

  const del = leaf(
    sa,
    "delete <name-or-email>",
    "Delete a service account and revoke all its tokens (asks first)",
  )
    .addOption(projectOption())
    .addOption(new Option("-y, --yes", "do not ask for confirmation"));
  withExamples(del, [
    ["asks for confirmation on a terminal", "latchkey sa delete deployer --project default"],
    ["in a script", "latchkey sa delete deployer --project default --yes"],
  ]).action(
    handler<{ project?: string; yes?: boolean }>(async (ctx, flags, [ref]) => {
      const target = serviceAccountRef(ref!, flags.project);
      const found = await ctx.client.get<ServiceAccount>(saPath(target));
      if (!flags.yes) {
        const active = await ctx.client.get<Page<Token>>(`${saPath(target)}/tokens`, {
          state: "active",
          limit: 500,
        });
        const count = `${active.items.length}${active.next_cursor ? " or more" : ""}`;
        await confirm(
          `Delete service account ${found.email}? Its ${count} active token(s) stop working at once.`,
          { yes: flags.yes, action: "delete a service account" },
        );
      }
      await ctx.client.delete(saPath(target));
      if (ctx.out.json) return ctx.out.printJson({ project: found.project, name: found.name, deleted: true });
      ctx.out.line(`Deleted service account ${ctx.out.p.bold(found.email)}; its tokens are revoked.`);
    }),
  );
}
