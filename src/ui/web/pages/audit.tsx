import { Fragment } from "preact";
import { useEffect, useState } from "preact/hooks";
import { ApiProblem, type AuditEvent, get, type Page, withQuery } from "../api.ts";
import { Empty, Loading, ProblemNote, useApp } from "../components.tsx";
import { fieldError } from "../data.ts";
import { absolute, fromLocalInput, relative } from "../format.ts";

interface Filters {
  actor: string;
  action: string;
  target: string;
  project: string;
  outcome: string;
  since: string;
  until: string;
}

const EMPTY: Filters = { actor: "", action: "", target: "", project: "", outcome: "", since: "", until: "" };
const ACTIONS = [
  "auth.authenticate",
  "token.create",
  "token.update",
  "token.rotate",
  "token.retire_previous",
  "token.revoke",
  "token.request",
  "service_account.create",
  "service_account.update",
  "service_account.delete",
  "project.create",
  "project.update",
  "project.delete",
  "bound_object.create",
  "signing_key.rotate",
  "ui.session.create",
  "ui.session.delete",
  "ui.csrf",
];

export function AuditPage() {
  const { can, projects, session } = useApp();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  // Cursors of the pages before the current one, so "Newer" can go back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<Page<AuditEvent> | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [expanded, setExpanded] = useState<string | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    let live = true;
    setProblem(null);
    const query = {
      actor: filters.actor.trim(),
      action: filters.action.trim(),
      target: filters.target.trim(),
      project: filters.project,
      outcome: filters.outcome,
      since: fromLocalInput(filters.since),
      until: fromLocalInput(filters.until),
      limit: 50,
      cursor,
    };
    get<Page<AuditEvent>>(withQuery("/v1/audit-events", query)).then(
      (p) => live && setPage(p),
      (e: unknown) => {
        if (!live) return;
        setPage(null);
        setProblem(e instanceof ApiProblem ? e : null);
      },
    );
    return () => {
      live = false;
    };
  }, [filters, cursor]);

  const set = (k: keyof Filters) => (e: Event) =>
    setDraft({ ...draft, [k]: (e.currentTarget as HTMLInputElement).value });

  if (problem && problem.status === 403)
    return (
      <section class="page" aria-labelledby="audit-title">
        <h1 id="audit-title">Audit log</h1>
        <div class="explain" data-testid="audit-forbidden">
          <p>
            The audit log is open to admins and owners. You are signed in as{" "}
            <strong>{session.whoami.service_account.name}</strong> with the role <strong>{can.role}</strong>,
            so the server declined to show it.
          </p>
          <p class="muted">Ask an admin of your project if you need to know who changed what.</p>
        </div>
      </section>
    );

  const fe = (f: string) => fieldError(problem, f);
  return (
    <section class="page" aria-labelledby="audit-title">
      <div class="page-head">
        <div>
          <h1 id="audit-title">Audit log</h1>
          <p class="muted">
            Every change and every refused request, newest first. Events are hash-chained and cannot be
            edited.
          </p>
        </div>
      </div>
      <form
        class="filters filters-audit"
        role="search"
        aria-label="Filter audit events"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([null]);
          setFilters(draft);
        }}
      >
        <div class="field">
          <label for="a-actor">Actor</label>
          <input
            id="a-actor"
            value={draft.actor}
            onInput={set("actor")}
            placeholder="service account name or id"
            aria-invalid={fe("actor") ? true : undefined}
          />
          {fe("actor") ? <p class="field-error">{fe("actor")}</p> : null}
        </div>
        <div class="field">
          <label for="a-action">Action</label>
          <input
            id="a-action"
            list="a-actions"
            value={draft.action}
            onInput={set("action")}
            placeholder="e.g. token.rotate"
          />
          <datalist id="a-actions">
            {ACTIONS.map((a) => (
              <option key={a} value={a} />
            ))}
          </datalist>
          {fe("action") ? <p class="field-error">{fe("action")}</p> : null}
        </div>
        <div class="field">
          <label for="a-target">Target</label>
          <input id="a-target" value={draft.target} onInput={set("target")} placeholder="name or id" />
          {fe("target") ? <p class="field-error">{fe("target")}</p> : null}
        </div>
        <div class="field">
          <label for="a-project">Project</label>
          <select id="a-project" value={draft.project} onChange={set("project")}>
            <option value="">All projects</option>
            {projects.map((p) => (
              <option key={p.id} value={p.name}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="a-outcome">Outcome</label>
          <select id="a-outcome" value={draft.outcome} onChange={set("outcome")}>
            <option value="">Any outcome</option>
            <option value="success">Success</option>
            <option value="denied">Denied</option>
            <option value="error">Error</option>
          </select>
        </div>
        <div class="field">
          <label for="a-since">Since</label>
          <input
            id="a-since"
            type="datetime-local"
            value={draft.since}
            onInput={set("since")}
            aria-invalid={fe("since") ? true : undefined}
          />
          {fe("since") ? <p class="field-error">{fe("since")}</p> : null}
        </div>
        <div class="field">
          <label for="a-until">Until</label>
          <input
            id="a-until"
            type="datetime-local"
            value={draft.until}
            onInput={set("until")}
            aria-invalid={fe("until") ? true : undefined}
          />
          {fe("until") ? <p class="field-error">{fe("until")}</p> : null}
        </div>
        <div class="filter-buttons">
          <button type="submit" class="button button-primary">
            Apply filters
          </button>
          <button
            type="button"
            class="button button-quiet"
            onClick={() => {
              setDraft(EMPTY);
              setCursors([null]);
              setFilters(EMPTY);
            }}
          >
            Reset
          </button>
        </div>
      </form>
      <ProblemNote problem={problem} fields={["actor", "action", "target", "since", "until"]} />
      {page === null ? (
        problem ? null : (
          <Loading />
        )
      ) : page.items.length === 0 ? (
        <Empty>No audit events match.</Empty>
      ) : (
        <div class="table-wrap">
          <table class="data audit-table" data-testid="audit-table">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Project</th>
                <th scope="col">Outcome</th>
                <th scope="col">Details</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((ev) => (
                <Fragment key={ev.id}>
                  <tr class={`outcome-${ev.outcome}`}>
                    <td data-label="Time">
                      <time dateTime={ev.time} title={ev.time} class="when">
                        <span class="when-rel">{relative(ev.time)}</span>
                        <span class="when-abs">{absolute(ev.time)}</span>
                      </time>
                    </td>
                    <td data-label="Actor">
                      {ev.actor.service_account?.name ?? <span class="muted">anonymous</span>}
                      {ev.actor.project ? <span class="muted"> in {ev.actor.project}</span> : null}
                    </td>
                    <td data-label="Action">
                      <code>{ev.action}</code>
                    </td>
                    <td data-label="Target">
                      {ev.target.type}
                      {ev.target.name ? `: ${ev.target.name}` : ""}
                    </td>
                    <td data-label="Project">{ev.project ?? <span class="muted">—</span>}</td>
                    <td data-label="Outcome">
                      <span class={`badge badge-outcome-${ev.outcome}`}>{ev.outcome}</span>
                    </td>
                    <td data-label="Details">
                      <button
                        type="button"
                        class="button button-small button-quiet"
                        aria-expanded={expanded === ev.id}
                        onClick={() => setExpanded(expanded === ev.id ? null : ev.id)}
                      >
                        {expanded === ev.id ? "Hide" : "Show"}
                      </button>
                    </td>
                  </tr>
                  {expanded === ev.id ? (
                    <tr class="details-row">
                      <td colSpan={7}>
                        <pre class="json">
                          {JSON.stringify(
                            {
                              id: ev.id,
                              request_id: ev.request_id,
                              ip: ev.ip,
                              user_agent: ev.user_agent,
                              actor: ev.actor,
                              target: ev.target,
                              details: ev.details,
                            },
                            null,
                            2,
                          )}
                        </pre>
                      </td>
                    </tr>
                  ) : null}
                </Fragment>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav class="pager" aria-label="Audit pages">
        <button
          type="button"
          class="button"
          disabled={cursors.length <= 1}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          ← Newer
        </button>
        <span class="muted">Page {cursors.length}</span>
        <button
          type="button"
          class="button"
          disabled={!page?.next_cursor}
          onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}
        >
          Older →
        </button>
      </nav>
    </section>
  );
}
