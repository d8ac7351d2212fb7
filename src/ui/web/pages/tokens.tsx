import { useEffect, useMemo, useState } from "preact/hooks";
import { ApiProblem, canManage, get, type Page, type Token, withQuery } from "../api.ts";
import { ActionButton, Empty, Loading, ProblemNote, StateBadge, useApp, When } from "../components.tsx";
import { saKey, useServiceAccounts } from "../data.ts";
import { CreateTokenDialog, ManageTokenDialog, RegenerateDialog, RevokeTokenDialog } from "../dialogs.tsx";
import { plural } from "../format.ts";

type SortKey = "name" | "service_account" | "project" | "created_at" | "expires_at" | "last_used_at";
type StateFilter = "" | "active" | "expiring" | "expired" | "revoked";
type Open = { kind: "create" } | { kind: "manage" | "regenerate" | "revoke"; token: Token } | null;

const STATE_OPTIONS: { value: StateFilter; label: string }[] = [
  { value: "", label: "Any state" },
  { value: "active", label: "Active" },
  { value: "expiring", label: "Expiring within 7 days" },
  { value: "expired", label: "Expired" },
  { value: "revoked", label: "Revoked" },
];

/** Reads the filters from the address bar, so a filtered view can be bookmarked or shared. */
function initialFilters() {
  const q = new URLSearchParams(location.search);
  const state = (q.get("state") ?? "") as StateFilter;
  const sort = q.get("sort") ?? "-created_at";
  return {
    project: q.get("project") ?? "",
    serviceAccount: q.get("service_account") ?? "",
    state: STATE_OPTIONS.some((o) => o.value === state) ? state : "",
    text: q.get("q") ?? "",
    sort: { key: sort.replace(/^-/, "") as SortKey, desc: sort.startsWith("-") },
  };
}

export function TokensPage() {
  const { can, projects } = useApp();
  const init = useMemo(initialFilters, []);
  const [project, setProject] = useState(init.project);
  const [serviceAccount, setServiceAccount] = useState(init.serviceAccount);
  const [state, setState] = useState<StateFilter>(init.state);
  const [text, setText] = useState(init.text);
  const [q, setQ] = useState(init.text);
  const [sort, setSort] = useState(init.sort);
  const [items, setItems] = useState<Token[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [version, setVersion] = useState(0);
  const [open, setOpen] = useState<Open>(null);
  const [soon, setSoon] = useState<number | null>(null);
  const accounts = useServiceAccounts(useMemo(() => projects.map((p) => p.name), [projects]));

  // Debounce the text filter so typing does not fire a request per key.
  useEffect(() => {
    const t = setTimeout(() => setQ(text.trim()), 250);
    return () => clearTimeout(t);
  }, [text]);

  const query = {
    project: project || undefined,
    service_account: project && serviceAccount ? serviceAccount : undefined,
    state: state === "expiring" ? "active" : state || undefined,
    expiring_within_days: state === "expiring" ? 7 : undefined,
    q: q || undefined,
    sort: (sort.desc ? "-" : "") + sort.key,
  };
  const queryKey = JSON.stringify(query);

  useEffect(() => {
    let live = true;
    setProblem(null);
    const shown = new URLSearchParams();
    if (project) shown.set("project", project);
    if (project && serviceAccount) shown.set("service_account", serviceAccount);
    if (state) shown.set("state", state);
    if (q) shown.set("q", q);
    if (query.sort !== "-created_at") shown.set("sort", query.sort);
    const search = shown.toString();
    history.replaceState(null, "", `/ui/tokens${search ? `?${search}` : ""}`);
    get<Page<Token>>(withQuery("/v1/tokens", { ...query, limit: 50 })).then(
      (page) => {
        if (!live) return;
        setItems(page.items);
        setCursor(page.next_cursor);
      },
      (e: unknown) => live && setProblem(e instanceof ApiProblem ? e : null),
    );
    return () => {
      live = false;
    };
  }, [queryKey, version]);

  useEffect(() => {
    get<Page<Token>>(withQuery("/v1/tokens", { expiring_within_days: 7, state: "active", limit: 200 })).then(
      (p) => setSoon(p.items.length + (p.next_cursor ? 1 : 0)),
      () => setSoon(null),
    );
  }, [version]);

  const more = async () => {
    if (!cursor) return;
    try {
      const page = await get<Page<Token>>(withQuery("/v1/tokens", { ...query, limit: 50, cursor }));
      setItems((cur) => [...(cur ?? []), ...page.items]);
      setCursor(page.next_cursor);
    } catch (e) {
      setProblem(e instanceof ApiProblem ? e : null);
    }
  };

  const refresh = () => {
    setVersion((v) => v + 1);
    accounts.reload();
  };

  const saOptions = project
    ? [...accounts.map.values()].filter((sa) => sa.project === project).map((sa) => sa.name)
    : [];
  const sortBy = (key: SortKey) =>
    setSort((s) =>
      s.key === key ? { key, desc: !s.desc } : { key, desc: key === "created_at" || key === "last_used_at" },
    );
  const filtered = Boolean(project || state || q);

  const Th = (p: { k?: SortKey; label: string; class?: string }) => {
    if (!p.k)
      return (
        <th scope="col" class={p.class}>
          {p.label}
        </th>
      );
    const active = sort.key === p.k;
    return (
      <th scope="col" class={p.class} aria-sort={active ? (sort.desc ? "descending" : "ascending") : "none"}>
        <button type="button" class="sort" onClick={() => sortBy(p.k as SortKey)}>
          {p.label}
          {active ? (
            <span class="sort-mark" aria-hidden="true">
              {sort.desc ? "▼" : "▲"}
            </span>
          ) : null}
        </button>
      </th>
    );
  };

  return (
    <section class="page" aria-labelledby="tokens-title">
      <div class="page-head">
        <div>
          <h1 id="tokens-title">API tokens</h1>
          <p class="muted">Every token of every service account you can see, across projects.</p>
        </div>
        {can.canWrite ? (
          <button type="button" class="button button-primary" onClick={() => setOpen({ kind: "create" })}>
            Create token
          </button>
        ) : null}
      </div>

      {soon ? (
        <div class="banner" data-testid="expiring-banner">
          <strong>{plural(soon, "token")}</strong> {soon === 1 ? "expires" : "expire"} within 7 days.{" "}
          <a
            href="/ui/expiries"
            onClick={(e) => {
              e.preventDefault();
              setState("expiring");
            }}
          >
            Show them
          </a>
        </div>
      ) : null}

      <form class="filters" role="search" aria-label="Filter tokens" onSubmit={(e) => e.preventDefault()}>
        <div class="field">
          <label for="f-project">Project</label>
          <select
            id="f-project"
            value={project}
            onChange={(e) => {
              setProject(e.currentTarget.value);
              setServiceAccount("");
            }}
          >
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-sa">Service account</label>
          <select
            id="f-sa"
            value={serviceAccount}
            disabled={!project}
            title={project ? undefined : "Choose a project first"}
            onChange={(e) => setServiceAccount(e.currentTarget.value)}
          >
            <option value="">{project ? "All service accounts" : "Choose a project first"}</option>
            {saOptions.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="f-state">State</label>
          <select id="f-state" value={state} onChange={(e) => setState(e.currentTarget.value as StateFilter)}>
            {STATE_OPTIONS.map((o) => (
              <option key={o.value} value={o.value}>
                {o.label}
              </option>
            ))}
          </select>
        </div>
        <div class="field field-grow">
          <label for="f-q">Search</label>
          <input
            id="f-q"
            type="search"
            value={text}
            placeholder="Name, description, owner or service account"
            onInput={(e) => setText(e.currentTarget.value)}
          />
        </div>
        {filtered ? (
          <button
            type="button"
            class="button button-quiet"
            onClick={() => {
              setProject("");
              setServiceAccount("");
              setState("");
              setText("");
              setQ("");
            }}
          >
            Clear filters
          </button>
        ) : null}
      </form>

      <ProblemNote problem={problem} />
      {items === null ? (
        problem ? null : (
          <Loading />
        )
      ) : items.length === 0 ? (
        <Empty>
          {filtered ? (
            "No token matches these filters."
          ) : can.canWrite ? (
            <>
              No tokens yet.{" "}
              <button type="button" class="linklike" onClick={() => setOpen({ kind: "create" })}>
                Create the first one
              </button>
              .
            </>
          ) : (
            "No tokens yet."
          )}
        </Empty>
      ) : (
        <div class="table-wrap">
          <table class="data tokens-table" data-testid="tokens-table">
            <caption class="sr-only">
              API tokens, sorted by {sort.key.replace("_", " ")} {sort.desc ? "descending" : "ascending"}
            </caption>
            <thead>
              <tr>
                <Th k="name" label="Name" />
                <Th k="service_account" label="Service account" />
                <Th k="project" label="Project" />
                <Th label="Access" />
                <Th label="Owner" />
                <Th k="created_at" label="Created" />
                <Th k="expires_at" label="Expires" />
                <Th k="last_used_at" label="Last used" />
                <Th label="State" />
                <th scope="col" class="th-actions">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {items.map((t) => {
                const sa = accounts.map.get(saKey(t.service_account.project, t.service_account.name));
                const manageable = accounts.loaded && canManage(can, sa);
                return (
                  <tr
                    key={t.id}
                    data-token-id={t.id}
                    class={t.state !== "active" ? "row-inactive" : undefined}
                  >
                    <td data-label="Name" class="cell-name">
                      <button
                        type="button"
                        class="linklike"
                        onClick={() => setOpen({ kind: "manage", token: t })}
                      >
                        {t.name}
                      </button>
                      {t.description ? <span class="sub">{t.description}</span> : null}
                    </td>
                    <td data-label="Service account">{t.service_account.name}</td>
                    <td data-label="Project">{t.service_account.project}</td>
                    <td data-label="Access">
                      <span class={t.access === "read-only" ? "pill pill-ro" : "pill"}>{t.access}</span>
                    </td>
                    <td data-label="Owner" class="cell-owner">
                      {t.owner || <span class="muted">—</span>}
                    </td>
                    <td data-label="Created">
                      <When iso={t.created_at} dateOnly />
                    </td>
                    <td data-label="Expires">
                      <When iso={t.expires_at} />
                    </td>
                    <td data-label="Last used">
                      <When iso={t.last_used_at} dateOnly />
                    </td>
                    <td data-label="State">
                      <StateBadge state={t.state} expiresAt={t.expires_at} />
                    </td>
                    <td data-label="Actions" class="cell-actions">
                      {can.canWrite && manageable ? (
                        <>
                          <ActionButton
                            icon="edit"
                            text="Manage"
                            label={`Manage ${t.name}`}
                            onClick={() => setOpen({ kind: "manage", token: t })}
                          />
                          {t.state === "active" && !t.rotated_to ? (
                            <ActionButton
                              icon="rotate"
                              text="Regenerate"
                              label={`Regenerate ${t.name}`}
                              onClick={() => setOpen({ kind: "regenerate", token: t })}
                            />
                          ) : null}
                          {t.state !== "revoked" ? (
                            <ActionButton
                              icon="trash"
                              text="Delete"
                              label={`Delete ${t.name}`}
                              danger
                              onClick={() => setOpen({ kind: "revoke", token: t })}
                            />
                          ) : null}
                        </>
                      ) : (
                        <button
                          type="button"
                          class="button button-small button-quiet"
                          onClick={() => setOpen({ kind: "manage", token: t })}
                        >
                          Details
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      {cursor ? (
        <div class="more">
          <button type="button" class="button" onClick={more}>
            Load more
          </button>
        </div>
      ) : items && items.length > 0 ? (
        <p class="muted count">{plural(items.length, "token")}</p>
      ) : null}

      {open?.kind === "create" ? (
        <CreateTokenDialog onClose={() => setOpen(null)} onCreated={refresh} />
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
