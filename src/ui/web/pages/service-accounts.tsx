import { useEffect, useMemo, useState } from "preact/hooks";
import { all, ApiProblem, canManage, type ServiceAccount, saPath, type Token } from "../api.ts";
import { Empty, Loading, ProblemNote, RoleBadge, StateBadge, useApp, When } from "../components.tsx";
import { useServiceAccounts } from "../data.ts";
import {
  CreateTokenDialog,
  DeleteServiceAccountDialog,
  EditServiceAccountDialog,
  ManageTokenDialog,
  RegenerateDialog,
  RevokeTokenDialog,
} from "../dialogs.tsx";
import { plural } from "../format.ts";

type Open =
  | { kind: "new-sa" }
  | { kind: "new-token"; sa: ServiceAccount }
  | { kind: "edit" | "delete"; sa: ServiceAccount }
  | { kind: "manage" | "regenerate" | "revoke"; token: Token }
  | null;

/** One account's tokens, loaded when its row is expanded. */
function AccountTokens(props: {
  sa: ServiceAccount;
  version: number;
  onOpen: (o: Open) => void;
  manageable: boolean;
}) {
  const { can } = useApp();
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  useEffect(() => {
    all<Token>(`${saPath(props.sa.project, props.sa.name)}/tokens`).then(
      (list) => setTokens(list.reverse()),
      (e: unknown) => setProblem(e instanceof ApiProblem ? e : null),
    );
  }, [props.sa.id, props.version]);
  if (problem) return <ProblemNote problem={problem} />;
  if (!tokens) return <Loading />;
  if (tokens.length === 0) return <p class="muted">No tokens.</p>;
  return (
    <ul class="sa-tokens">
      {tokens.map((t) => (
        <li key={t.id} data-token-id={t.id}>
          <span class="sa-token-name">
            <button type="button" class="linklike" onClick={() => props.onOpen({ kind: "manage", token: t })}>
              {t.name}
            </button>{" "}
            <StateBadge state={t.state} expiresAt={t.expires_at} /> <span class="pill">{t.access}</span>
          </span>
          <span class="sa-token-dates">
            <span>
              <span class="muted">expires</span> <When iso={t.expires_at} />
            </span>
            <span>
              <span class="muted">last used</span> <When iso={t.last_used_at} />
            </span>
          </span>
          {can.canWrite && props.manageable ? (
            <span class="sa-token-actions">
              {t.state === "active" && !t.rotated_to ? (
                <button
                  type="button"
                  class="button button-small"
                  onClick={() => props.onOpen({ kind: "regenerate", token: t })}
                >
                  Regenerate
                </button>
              ) : null}
              {t.state !== "revoked" ? (
                <button
                  type="button"
                  class="button button-small button-danger-quiet"
                  onClick={() => props.onOpen({ kind: "revoke", token: t })}
                >
                  Delete
                </button>
              ) : null}
            </span>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

export function ServiceAccountsPage() {
  const { can, projects } = useApp();
  const [project, setProject] = useState("");
  const [text, setText] = useState("");
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<Open>(null);
  const [version, setVersion] = useState(0);
  const names = useMemo(() => (project ? [project] : projects.map((p) => p.name)), [project, projects]);
  const accounts = useServiceAccounts(names);
  const [counts, setCounts] = useState<Map<string, number>>(new Map());

  // Active token counts per account, from the cross-project list (one request per page of 200).
  useEffect(() => {
    all<Token>(`/v1/tokens?state=active${project ? `&project=${encodeURIComponent(project)}` : ""}`, 10).then(
      (list) => {
        const m = new Map<string, number>();
        for (const t of list) m.set(t.service_account.id, (m.get(t.service_account.id) ?? 0) + 1);
        setCounts(m);
      },
      () => setCounts(new Map()),
    );
  }, [project, version]);

  const refresh = () => {
    setVersion((v) => v + 1);
    accounts.reload();
  };
  const needle = text.trim().toLowerCase();
  const list = [...accounts.map.values()]
    .filter(
      (sa) =>
        !needle ||
        [sa.name, sa.description, sa.owner, sa.email].some((s) => s.toLowerCase().includes(needle)),
    )
    .sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name));

  const toggle = (id: string) =>
    setExpanded((cur) => {
      const next = new Set(cur);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <section class="page" aria-labelledby="sa-title">
      <div class="page-head">
        <div>
          <h1 id="sa-title">Service accounts</h1>
          <p class="muted">
            Machine identities and their tokens. Deleting an account revokes all its tokens.
          </p>
        </div>
        {can.canWrite ? (
          <button type="button" class="button button-primary" onClick={() => setOpen({ kind: "new-sa" })}>
            New service account
          </button>
        ) : null}
      </div>
      <form
        class="filters"
        role="search"
        aria-label="Filter service accounts"
        onSubmit={(e) => e.preventDefault()}
      >
        <div class="field">
          <label for="sa-project">Project</label>
          <select id="sa-project" value={project} onChange={(e) => setProject(e.currentTarget.value)}>
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-grow">
          <label for="sa-q">Search</label>
          <input
            id="sa-q"
            type="search"
            value={text}
            placeholder="Name, description, owner or email"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </div>
      </form>
      <ProblemNote problem={accounts.error} />
      {!accounts.loaded ? (
        <Loading />
      ) : list.length === 0 ? (
        <Empty>{needle ? "No service account matches." : "No service accounts yet."}</Empty>
      ) : (
        <ul class="sa-list" data-testid="sa-list">
          {list.map((sa) => {
            const isOpen = expanded.has(sa.id);
            const manageable = canManage(can, sa);
            const n = counts.get(sa.id) ?? 0;
            return (
              <li key={sa.id} class="sa-card" data-sa={`${sa.project}/${sa.name}`}>
                <div class="sa-head">
                  <button
                    type="button"
                    class="disclosure"
                    aria-expanded={isOpen}
                    aria-controls={`sa-tokens-${sa.id}`}
                    onClick={() => toggle(sa.id)}
                  >
                    <span class="disclosure-mark" aria-hidden="true">
                      {isOpen ? "▾" : "▸"}
                    </span>
                    <span class="sa-name">{sa.name}</span>
                    <span class="muted"> in {sa.project}</span>
                  </button>
                  <RoleBadge role={sa.role} scope={sa.scope} />
                  {sa.disabled ? <span class="badge badge-revoked">Disabled</span> : null}
                  <span class="sa-count">{plural(n, "active token")}</span>
                  {can.canWrite && manageable ? (
                    <span class="sa-actions">
                      <button
                        type="button"
                        class="button button-small"
                        onClick={() => setOpen({ kind: "new-token", sa })}
                        disabled={sa.disabled}
                      >
                        New token
                      </button>
                      <button
                        type="button"
                        class="button button-small"
                        onClick={() => setOpen({ kind: "edit", sa })}
                      >
                        Manage
                      </button>
                      <button
                        type="button"
                        class="button button-small button-danger-quiet"
                        onClick={() => setOpen({ kind: "delete", sa })}
                      >
                        Delete
                      </button>
                    </span>
                  ) : null}
                </div>
                <p class="sa-meta">
                  <code>{sa.email}</code>
                  {sa.owner ? <span> · owner {sa.owner}</span> : null}
                  {sa.description ? <span> · {sa.description}</span> : null}
                </p>
                {isOpen ? (
                  <div id={`sa-tokens-${sa.id}`}>
                    <AccountTokens sa={sa} version={version} onOpen={setOpen} manageable={manageable} />
                  </div>
                ) : null}
              </li>
            );
          })}
        </ul>
      )}
      {open?.kind === "new-sa" ? (
        <CreateTokenDialog newServiceAccount onClose={() => setOpen(null)} onCreated={refresh} />
      ) : null}
      {open?.kind === "new-token" ? (
        <CreateTokenDialog
          project={open.sa.project}
          serviceAccount={open.sa.name}
          onClose={() => setOpen(null)}
          onCreated={refresh}
        />
      ) : null}
      {open?.kind === "edit" ? (
        <EditServiceAccountDialog account={open.sa} onClose={() => setOpen(null)} onSaved={refresh} />
      ) : null}
      {open?.kind === "delete" ? (
        <DeleteServiceAccountDialog account={open.sa} onClose={() => setOpen(null)} onDone={refresh} />
      ) : null}
      {open?.kind === "manage" ? (
        <ManageTokenDialog token={open.token} onClose={() => setOpen(null)} onSaved={refresh} />
      ) : null}
      {open?.kind === "regenerate" ? (
        <RegenerateDialog token={open.token} onClose={() => setOpen(null)} onDone={refresh} />
      ) : null}
      {open?.kind === "revoke" ? (
        <RevokeTokenDialog token={open.token} onClose={() => setOpen(null)} onDone={refresh} />
      ) : null}
    </section>
  );
}
