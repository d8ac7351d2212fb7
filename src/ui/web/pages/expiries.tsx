import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { all, ApiProblem, canManage, type Token } from "../api.ts";
import { Empty, Loading, ProblemNote, StateBadge, useApp, When } from "../components.tsx";
import { saKey, useServiceAccounts } from "../data.ts";
import { RegenerateDialog } from "../dialogs.tsx";
import { DAY_MS, plural, shortDay } from "../format.ts";

const HORIZON_DAYS = 90;
type Grouping = "day" | "week";

interface Bucket {
  index: number;
  start: Date;
  end: Date;
  /** Days from now to the bucket's start: drives the colour. */
  startDay: number;
  tokens: Token[];
}

function startOfToday(): Date {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  return d;
}

function buckets(tokens: Token[], grouping: Grouping): Bucket[] {
  const today = startOfToday().getTime();
  const span = grouping === "day" ? 1 : 7;
  const n = Math.ceil((HORIZON_DAYS + 1) / span);
  const out: Bucket[] = Array.from({ length: n }, (_, i) => ({
    index: i,
    start: new Date(today + i * span * DAY_MS),
    end: new Date(today + (i + 1) * span * DAY_MS),
    startDay: i * span,
    tokens: [],
  }));
  for (const t of tokens) {
    const i = Math.floor((new Date(t.expires_at).getTime() - today) / (span * DAY_MS));
    out[Math.max(0, Math.min(n - 1, i))]?.tokens.push(t);
  }
  return out;
}

function urgency(startDay: number): string {
  return startDay < 7 ? "bar-urgent" : startDay < 30 ? "bar-warn" : "bar-ok";
}

function bucketLabel(b: Bucket, grouping: Grouping): string {
  if (grouping === "day") return shortDay(b.start);
  return `${shortDay(b.start)} – ${shortDay(new Date(b.end.getTime() - DAY_MS))}`;
}

/** Hand-made SVG bar chart: one bar per day or week, coloured by how soon it breaks. */
function Timeline(props: {
  data: Bucket[];
  grouping: Grouping;
  selected: number | null;
  onSelect: (i: number | null) => void;
}) {
  // Drawn at the width it is shown at, so text stays 12 px on a phone and on a wide screen.
  const holder = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(960);
  useEffect(() => {
    const el = holder.current;
    if (!el) return;
    const observer = new ResizeObserver(([entry]) => {
      if (entry) setWidth(Math.max(300, Math.round(entry.contentRect.width)));
    });
    observer.observe(el);
    return () => observer.disconnect();
  }, []);
  const W = width;
  const H = width < 600 ? 240 : 280;
  const m = { left: 32, right: 10, top: 40, bottom: 44 };
  const plotW = W - m.left - m.right;
  const plotH = H - m.top - m.bottom;
  const max = Math.max(1, ...props.data.map((b) => b.tokens.length));
  const bw = plotW / props.data.length;
  const y = (v: number) => m.top + plotH - (v / max) * plotH;
  const ticks = max <= 4 ? Array.from({ length: max + 1 }, (_, i) => i) : [0, Math.round(max / 2), max];
  // Enough room for a "Nov 30" label (about 48 px) under every labelled bar.
  const labelEvery =
    props.grouping === "day" ? 7 * Math.max(1, Math.ceil(48 / (7 * bw))) : Math.max(1, Math.ceil(48 / bw));
  const weekLine = m.left + (7 / (props.grouping === "day" ? 1 : 7)) * bw;
  const monthLine = m.left + (30 / (props.grouping === "day" ? 1 : 7)) * bw;
  const total = props.data.reduce((s, b) => s + b.tokens.length, 0);
  return (
    <div ref={holder} class="timeline-holder">
      <svg
        class="timeline"
        width={W}
        height={H}
        viewBox={`0 0 ${W} ${H}`}
        role="group"
        aria-label={`Tokens expiring per ${props.grouping} over the next ${HORIZON_DAYS} days: ${total} in all`}
        data-testid="expiry-chart"
      >
        {ticks.map((t) => (
          <g key={t} class="tick">
            <line x1={m.left} x2={W - m.right} y1={y(t)} y2={y(t)} class="gridline" />
            <text x={m.left - 8} y={y(t) + 4} text-anchor="end" class="axis-label">
              {t}
            </text>
          </g>
        ))}
        <line x1={weekLine} x2={weekLine} y1={6} y2={m.top + plotH} class="marker" />
        <text x={weekLine + 4} y={14} class="marker-label">
          7 days
        </text>
        <line x1={monthLine} x2={monthLine} y1={6} y2={m.top + plotH} class="marker" />
        <text x={monthLine + 4} y={14} class="marker-label">
          30 days
        </text>
        {props.data.map((b) => {
          const n = b.tokens.length;
          const x = m.left + b.index * bw;
          const h = (n / max) * plotH;
          const label = `${plural(n, "token")} ${n === 1 ? "expires" : "expire"} ${props.grouping === "day" ? "on" : "in the week of"} ${bucketLabel(b, props.grouping)}`;
          const selected = props.selected === b.index;
          return (
            <g key={b.index}>
              {n > 0 ? (
                <g
                  class={`bar ${urgency(b.startDay)}${selected ? " bar-selected" : ""}`}
                  role="button"
                  tabindex={0}
                  aria-label={label}
                  aria-pressed={selected}
                  onClick={() => props.onSelect(selected ? null : b.index)}
                  onKeyDown={(e) => {
                    if (e.key === "Enter" || e.key === " ") {
                      e.preventDefault();
                      props.onSelect(selected ? null : b.index);
                    }
                  }}
                >
                  <title>{label}</title>
                  <rect x={x} y={m.top} width={bw} height={plotH} class="bar-hit" />
                  <rect
                    x={x + bw * 0.12}
                    y={y(n)}
                    width={Math.max(1, bw * 0.76)}
                    height={Math.max(h, 2)}
                    rx={Math.min(3, bw / 4)}
                    class="bar-fill"
                  />
                  {bw >= 14 || props.grouping === "week" ? (
                    <text x={x + bw / 2} y={y(n) - 5} text-anchor="middle" class="bar-count">
                      {n}
                    </text>
                  ) : null}
                </g>
              ) : null}
              {b.index % labelEvery === 0 ? (
                <text
                  x={x + (props.grouping === "day" ? 0 : bw / 2)}
                  y={H - m.bottom + 18}
                  text-anchor={props.grouping === "day" ? "start" : "middle"}
                  class="axis-label"
                >
                  {shortDay(b.start)}
                </text>
              ) : null}
            </g>
          );
        })}
        <line x1={m.left} x2={W - m.right} y1={m.top + plotH} y2={m.top + plotH} class="axis" />
        <text x={m.left} y={H - 6} class="axis-title">
          {props.grouping === "day" ? "Day of expiry" : "Week of expiry"} (today → {HORIZON_DAYS} days)
        </text>
      </svg>
    </div>
  );
}

export function ExpiriesPage() {
  const { can, projects } = useApp();
  const [tokens, setTokens] = useState<Token[] | null>(null);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [grouping, setGrouping] = useState<Grouping>("week");
  const [selected, setSelected] = useState<number | null>(null);
  const [project, setProject] = useState("");
  const [regenerate, setRegenerate] = useState<Token | null>(null);
  const [version, setVersion] = useState(0);
  const accounts = useServiceAccounts(useMemo(() => projects.map((p) => p.name), [projects]));

  useEffect(() => {
    const q = new URLSearchParams({
      state: "active",
      expiring_within_days: String(HORIZON_DAYS),
      sort: "expires_at",
    });
    if (project) q.set("project", project);
    all<Token>(`/v1/tokens?${q}`).then(setTokens, (e: unknown) =>
      setProblem(e instanceof ApiProblem ? e : null),
    );
  }, [project, version]);

  const data = useMemo(() => buckets(tokens ?? [], grouping), [tokens, grouping]);
  const chosen = selected === null ? null : (data[selected] ?? null);
  const list = chosen ? chosen.tokens : (tokens ?? []);
  const within = (d: number) =>
    (tokens ?? []).filter((t) => new Date(t.expires_at).getTime() - Date.now() < d * DAY_MS).length;

  return (
    <section class="page" aria-labelledby="exp-title">
      <div class="page-head">
        <div>
          <h1 id="exp-title">Expiries</h1>
          <p class="muted">
            Active tokens that stop working in the next {HORIZON_DAYS} days: regenerate them before something
            breaks.
          </p>
        </div>
      </div>
      <div class="filters">
        <div class="field">
          <label for="e-project">Project</label>
          <select
            id="e-project"
            value={project}
            onChange={(e) => {
              setProject(e.currentTarget.value);
              setSelected(null);
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
        <div class="segmented" role="radiogroup" aria-label="Group by">
          <label>
            <input
              type="radio"
              name="grouping"
              checked={grouping === "day"}
              onChange={() => {
                setGrouping("day");
                setSelected(null);
              }}
            />{" "}
            By day
          </label>
          <label>
            <input
              type="radio"
              name="grouping"
              checked={grouping === "week"}
              onChange={() => {
                setGrouping("week");
                setSelected(null);
              }}
            />{" "}
            By week
          </label>
        </div>
      </div>
      <ProblemNote problem={problem} />
      {tokens === null ? (
        problem ? null : (
          <Loading />
        )
      ) : (
        <>
          <div class="stats" data-testid="expiry-stats">
            <div class="stat stat-urgent">
              <span class="stat-n">{within(7)}</span> within 7 days
            </div>
            <div class="stat stat-warn">
              <span class="stat-n">{within(30)}</span> within 30 days
            </div>
            <div class="stat">
              <span class="stat-n">{tokens.length}</span> within {HORIZON_DAYS} days
            </div>
          </div>
          <div class="chart-card">
            <Timeline data={data} grouping={grouping} selected={selected} onSelect={setSelected} />
            <p class="legend">
              <span class="legend-item">
                <span class="key key-urgent" /> within 7 days
              </span>
              <span class="legend-item">
                <span class="key key-warn" /> within 30 days
              </span>
              <span class="legend-item">
                <span class="key key-ok" /> later
              </span>
              <span class="legend-item">Select a bar to list its tokens.</span>
            </p>
          </div>
          <h2 class="list-title">
            {chosen
              ? `Expiring ${grouping === "day" ? "on" : "in the week of"} ${bucketLabel(chosen, grouping)}`
              : "All expiring tokens"}{" "}
            {chosen ? (
              <button
                type="button"
                class="button button-small button-quiet"
                onClick={() => setSelected(null)}
              >
                Show all
              </button>
            ) : null}
          </h2>
          {list.length === 0 ? (
            <Empty>Nothing expires in the next {HORIZON_DAYS} days.</Empty>
          ) : (
            <div class="table-wrap">
              <table class="data" data-testid="expiry-list">
                <thead>
                  <tr>
                    <th scope="col">Expires</th>
                    <th scope="col">Token</th>
                    <th scope="col">Service account</th>
                    <th scope="col">Project</th>
                    <th scope="col">Owner</th>
                    <th scope="col">Last used</th>
                    <th scope="col">State</th>
                    {can.canWrite ? <th scope="col">Actions</th> : null}
                  </tr>
                </thead>
                <tbody>
                  {list.map((t) => {
                    const sa = accounts.map.get(saKey(t.service_account.project, t.service_account.name));
                    return (
                      <tr key={t.id} data-token-id={t.id}>
                        <td data-label="Expires">
                          <When iso={t.expires_at} />
                        </td>
                        <td data-label="Token">{t.name}</td>
                        <td data-label="Service account">{t.service_account.name}</td>
                        <td data-label="Project">{t.service_account.project}</td>
                        <td data-label="Owner">{t.owner || <span class="muted">—</span>}</td>
                        <td data-label="Last used">
                          <When iso={t.last_used_at} />
                        </td>
                        <td data-label="State">
                          <StateBadge state={t.state} expiresAt={t.expires_at} />
                        </td>
                        {can.canWrite ? (
                          <td data-label="Actions">
                            {accounts.loaded && canManage(can, sa) && !t.rotated_to ? (
                              <button
                                type="button"
                                class="button button-small"
                                onClick={() => setRegenerate(t)}
                              >
                                Regenerate
                              </button>
                            ) : null}
                          </td>
                        ) : null}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )}
        </>
      )}
      {regenerate ? (
        <RegenerateDialog
          token={regenerate}
          onClose={() => setRegenerate(null)}
          onDone={() => setVersion((v) => v + 1)}
        />
      ) : null}
    </section>
  );
}
