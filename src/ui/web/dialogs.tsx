import { useEffect, useState } from "preact/hooks";
import {
  type Access,
  all,
  ApiProblem,
  canManage,
  enc,
  type IssuedToken,
  request,
  type Role,
  type ServiceAccount,
  saPath,
  type Token,
} from "./api.ts";
import {
  Dialog,
  Field,
  ProblemNote,
  RoleBadge,
  SecretReveal,
  SelectField,
  StateBadge,
  TextField,
  useApp,
  When,
} from "./components.tsx";
import { fieldError } from "./data.ts";
import { absolute, DAY_MS, fromLocalInput, plural, relative, toLocalInput } from "./format.ts";

const LIFETIMES = [
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days (default)" },
  { value: "180", label: "180 days" },
  { value: "365", label: "1 year" },
  { value: "custom", label: "Custom…" },
];

function problemOf(e: unknown): ApiProblem {
  return e instanceof ApiProblem
    ? e
    : new ApiProblem(0, "client_error", e instanceof Error ? e.message : String(e));
}

/** The lifetime picker: presets or a number of days, with the resulting expiry spelled out. */
function Lifetime(props: {
  preset: string;
  days: string;
  onPreset: (v: string) => void;
  onDays: (v: string) => void;
  error?: string | undefined;
  allowSame?: boolean;
}) {
  const days = props.preset === "custom" ? Number(props.days) : Number(props.preset);
  const expires = Number.isFinite(days) && days > 0 ? new Date(Date.now() + days * DAY_MS) : null;
  const options = props.allowSame ? [{ value: "same", label: "Same as before" }, ...LIFETIMES] : LIFETIMES;
  return (
    <div class="field-pair">
      <SelectField
        label="Lifetime"
        name="lifetime"
        value={props.preset}
        options={options}
        onChange={props.onPreset}
        error={props.preset === "custom" ? undefined : props.error}
        hint={props.preset !== "same" && expires ? `Expires ${absolute(expires.toISOString())}` : undefined}
      />
      {props.preset === "custom" ? (
        <TextField
          label="Days"
          name="lifetime_days"
          type="number"
          value={props.days}
          onInput={props.onDays}
          error={props.error}
          hint="Between 1 and the server's maximum (366 days unless the operator changed it)."
        />
      ) : null}
    </div>
  );
}

function ttlSeconds(preset: string, days: string): number | undefined {
  if (preset === "same") return undefined;
  const d = preset === "custom" ? Number(days) : Number(preset);
  return Number.isFinite(d) ? Math.round(d * 86400) : Number.NaN;
}

function RoleHint(props: { role: Role }) {
  return (
    <>
      You can grant roles up to your own (<strong>{props.role}</strong>).
    </>
  );
}

// ---- create token ----------------------------------------------------------------------------------

export function CreateTokenDialog(props: {
  project?: string;
  serviceAccount?: string;
  newServiceAccount?: boolean;
  onClose: () => void;
  onCreated: () => void;
}) {
  const { can, projects, session } = useApp();
  const writableProjects = projects
    .map((p) => p.name)
    .filter((p) => can.writableProject === null || p === can.writableProject);
  const [project, setProject] = useState(
    props.project ??
      (writableProjects.includes(can.homeProject) ? can.homeProject : (writableProjects[0] ?? "")),
  );
  const [accounts, setAccounts] = useState<ServiceAccount[] | null>(null);
  const [saMode, setSaMode] = useState<"existing" | "new">(props.newServiceAccount ? "new" : "existing");
  const [saName, setSaName] = useState(props.serviceAccount ?? "");
  const [newSa, setNewSa] = useState({ name: "", description: "", role: "viewer" as Role });
  const [withToken, setWithToken] = useState(true);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [owner, setOwner] = useState("");
  const [access, setAccess] = useState<Access>("read-write");
  const [format, setFormat] = useState<"opaque" | "jwt">("opaque");
  const [preset, setPreset] = useState("90");
  const [days, setDays] = useState("90");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [issued, setIssued] = useState<{
    secret: string;
    name: string;
    expiresAt: string;
    sa: string;
  } | null>(null);
  const [createdSaOnly, setCreatedSaOnly] = useState<string | null>(null);

  useEffect(() => {
    if (!project) return;
    let live = true;
    setAccounts(null);
    all<ServiceAccount>(saPath(project)).then(
      (list) => {
        if (!live) return;
        setAccounts(list);
        const usable = list.filter((sa) => canManage(can, sa) && !sa.disabled);
        // Suggest an account other than the signed-in one: people rarely mint more tokens for themselves.
        const self = session.whoami.service_account.id;
        const suggested = usable.find((sa) => sa.id !== self) ?? usable[0];
        setSaName((cur) => (usable.some((sa) => sa.name === cur) ? cur : (suggested?.name ?? "")));
        if (usable.length === 0 && !props.serviceAccount) setSaMode("new");
      },
      (e: unknown) => live && setProblem(problemOf(e)),
    );
    return () => {
      live = false;
    };
  }, [project]);

  const close = () => {
    setIssued(null);
    props.onClose();
  };

  if (issued)
    return (
      <Dialog title="Token created" onClose={close} testId="create-token-dialog">
        <SecretReveal
          secret={issued.secret}
          name={issued.name}
          expiresAt={issued.expiresAt}
          extra={
            <p class="hint">
              It authenticates as service account <strong>{issued.sa}</strong> in project{" "}
              <strong>{project}</strong>.
            </p>
          }
        />
        <div class="actions">
          <button type="button" class="button button-primary" onClick={close}>
            I have copied it — close
          </button>
        </div>
      </Dialog>
    );

  if (createdSaOnly)
    return (
      <Dialog title="Service account created" onClose={close} testId="create-token-dialog">
        <p>
          Service account <strong>{createdSaOnly}</strong> was created in project <strong>{project}</strong>.
          It has no tokens yet.
        </p>
        <div class="actions">
          <button type="button" class="button button-primary" onClick={close}>
            Close
          </button>
        </div>
      </Dialog>
    );

  const tokenBody = () => {
    const ttl = ttlSeconds(preset, days);
    return {
      name: name.trim(),
      ...(description.trim() ? { description: description.trim() } : {}),
      ...(owner.trim() ? { owner: owner.trim() } : {}),
      access,
      format,
      ...(ttl === undefined ? {} : { ttl_seconds: ttl }),
    };
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    const ttl = ttlSeconds(preset, days);
    if (withToken && (ttl === undefined || !Number.isFinite(ttl) || ttl <= 0)) {
      setProblem(
        new ApiProblem(0, "client_error", "Lifetime: enter a number of days.", [
          { field: "ttl_seconds", message: "enter a whole number of days" },
        ]),
      );
      return;
    }
    setBusy(true);
    try {
      if (saMode === "existing") {
        if (!saName)
          throw new ApiProblem(0, "client_error", "Choose a service account.", [
            { field: "service_account", message: "choose a service account" },
          ]);
        const t = await request<IssuedToken>("POST", `${saPath(project, saName)}/tokens`, tokenBody());
        setIssued({ secret: t.token, name: t.name, expiresAt: t.expires_at, sa: saName });
      } else {
        const body = {
          name: newSa.name.trim(),
          role: newSa.role,
          ...(newSa.description.trim() ? { description: newSa.description.trim() } : {}),
          ...(owner.trim() ? { owner: owner.trim() } : {}),
          ...(withToken ? { token: tokenBody() } : {}),
        };
        const created = await request<ServiceAccount & { token?: IssuedToken }>(
          "POST",
          saPath(project),
          body,
        );
        if (created.token)
          setIssued({
            secret: created.token.token,
            name: created.token.name,
            expiresAt: created.token.expires_at,
            sa: created.name,
          });
        else setCreatedSaOnly(created.name);
      }
      props.onCreated();
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setBusy(false);
    }
  };

  const conflict = problem?.code === "already_exists";
  const conflictOnSa = conflict && saMode === "new" && /service account/i.test(problem?.message ?? "");
  const tokenField = (f: string) => fieldError(problem, saMode === "new" ? `token.${f}` : f);
  const roleError =
    problem?.code === "role_ceiling_exceeded" || problem?.code === "scope_ceiling_exceeded"
      ? problem.message
      : undefined;
  const usable = (accounts ?? []).filter((sa) => canManage(can, sa) && !sa.disabled);
  const blocked = (accounts ?? []).filter((sa) => !usable.includes(sa));

  return (
    <Dialog
      title={props.newServiceAccount ? "New service account" : "Create token"}
      onClose={close}
      wide
      testId="create-token-dialog"
    >
      <form onSubmit={submit} noValidate>
        <ProblemNote problem={problem} />
        <fieldset>
          <legend>Service account</legend>
          <SelectField
            label="Project"
            name="project"
            value={project}
            options={writableProjects}
            onChange={setProject}
            error={fieldError(problem, "project")}
            hint={
              can.writableProject ? `Your account works in project ${can.writableProject} only.` : undefined
            }
          />
          <div class="segmented" role="radiogroup" aria-label="Existing or new service account">
            <label>
              <input
                type="radio"
                name="sa-mode"
                checked={saMode === "existing"}
                onChange={() => setSaMode("existing")}
              />{" "}
              Existing
            </label>
            <label>
              <input
                type="radio"
                name="sa-mode"
                checked={saMode === "new"}
                onChange={() => setSaMode("new")}
              />{" "}
              New service account
            </label>
          </div>
          {saMode === "existing" ? (
            <SelectField
              label="Service account"
              name="service_account"
              value={saName}
              options={
                accounts === null
                  ? [{ value: "", label: "Loading…" }]
                  : usable.length === 0
                    ? [{ value: "", label: "No service account you can manage here" }]
                    : [
                        ...usable.map((sa) => ({ value: sa.name, label: `${sa.name} (${sa.role})` })),
                        ...blocked.map((sa) => ({
                          value: sa.name,
                          label: `${sa.name} (${sa.role}${sa.disabled ? ", disabled" : ", above your role"})`,
                          disabled: true,
                        })),
                      ]
              }
              onChange={setSaName}
              error={
                fieldError(problem, "service_account") ?? (saMode === "existing" ? roleError : undefined)
              }
            />
          ) : (
            <>
              <TextField
                label="New service account name"
                name="sa_name"
                value={newSa.name}
                onInput={(v) => setNewSa({ ...newSa, name: v })}
                error={fieldError(problem, "name") ?? (conflictOnSa ? problem?.message : undefined)}
                hint="Lowercase letters, digits and '-', e.g. ci-deployer."
                maxLength={63}
              />
              <SelectField
                label="Role"
                name="sa_role"
                value={newSa.role}
                options={can.grantableRoles}
                onChange={(r) => setNewSa({ ...newSa, role: r })}
                error={fieldError(problem, "role") ?? roleError}
                hint={<RoleHint role={can.role} />}
              />
              <TextField
                label="Service account description"
                name="sa_description"
                value={newSa.description}
                onInput={(v) => setNewSa({ ...newSa, description: v })}
                error={fieldError(problem, "description")}
                maxLength={1024}
              />
              {props.newServiceAccount ? (
                <label class="check">
                  <input
                    type="checkbox"
                    checked={withToken}
                    onChange={(e) => setWithToken(e.currentTarget.checked)}
                  />{" "}
                  Also create its first token
                </label>
              ) : null}
            </>
          )}
        </fieldset>
        {withToken ? (
          <fieldset>
            <legend>Token</legend>
            <TextField
              label="Token name"
              name="name"
              value={name}
              onInput={setName}
              error={tokenField("name") ?? (conflict && !conflictOnSa ? problem?.message : undefined)}
              placeholder="e.g. github-actions"
              maxLength={128}
              autoFocus={!props.newServiceAccount}
            />
            <TextField
              label="Description"
              name="description"
              value={description}
              onInput={setDescription}
              error={tokenField("description")}
              placeholder="What uses it, where it is stored"
              maxLength={1024}
            />
            <div class="field-pair">
              <SelectField
                label="Access"
                name="access"
                value={access}
                options={[
                  { value: "read-write", label: "Read and write" },
                  { value: "read-only", label: "Read only" },
                ]}
                onChange={setAccess}
                error={tokenField("access")}
              />
              <SelectField
                label="Format"
                name="format"
                value={format}
                options={[
                  { value: "opaque", label: "Opaque (lk_…)" },
                  { value: "jwt", label: "JWT (verifiable offline)" },
                ]}
                onChange={setFormat}
                error={tokenField("format")}
              />
            </div>
            <Lifetime
              preset={preset}
              days={days}
              onPreset={setPreset}
              onDays={setDays}
              error={tokenField("ttl_seconds")}
            />
          </fieldset>
        ) : null}
        <TextField
          label="Owner"
          name="owner"
          value={owner}
          onInput={setOwner}
          error={tokenField("owner") ?? fieldError(problem, "owner")}
          placeholder={`e.g. platform-team (you are ${session.whoami.service_account.name})`}
          hint="Who is responsible for it: a person or team, for audits and expiry reminders."
          maxLength={256}
        />
        <div class="actions">
          <button type="button" class="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? "Creating…" : withToken ? "Create token" : "Create service account"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// ---- manage ----------------------------------------------------------------------------------------

export function ManageTokenDialog(props: { token: Token; onClose: () => void; onSaved: () => void }) {
  const { can, notify } = useApp();
  const t = props.token;
  const [sa, setSa] = useState<ServiceAccount | null>(null);
  const [name, setName] = useState(t.name);
  const [description, setDescription] = useState(t.description);
  const [owner, setOwner] = useState(t.owner);
  const [role, setRole] = useState<Role>("viewer");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [roleProblem, setRoleProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    request<ServiceAccount>("GET", saPath(t.service_account.project, t.service_account.name)).then(
      (s) => {
        setSa(s);
        setRole(s.role);
      },
      (e: unknown) => setProblem(problemOf(e)),
    );
  }, [t.id]);

  const editable = sa !== null && canManage(can, sa) && t.state !== "revoked";
  const roleEditable = sa !== null && canManage(can, sa);

  const save = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    setRoleProblem(null);
    setBusy(true);
    let ok = true;
    const patch: Record<string, string> = {};
    if (name !== t.name) patch.name = name.trim();
    if (description !== t.description) patch.description = description;
    if (owner !== t.owner) patch.owner = owner;
    if (Object.keys(patch).length > 0) {
      try {
        await request("PATCH", `/v1/tokens/${enc(t.id)}`, patch);
      } catch (err) {
        ok = false;
        setProblem(problemOf(err));
      }
    }
    if (ok && sa && role !== sa.role) {
      try {
        await request("PATCH", saPath(sa.project, sa.name), { role });
      } catch (err) {
        ok = false;
        setRoleProblem(problemOf(err));
      }
    }
    setBusy(false);
    if (ok) {
      notify(`Saved token ${name}.`);
      props.onSaved();
      props.onClose();
    }
  };

  return (
    <Dialog
      title={editable ? `Manage token ${t.name}` : `Token ${t.name}`}
      onClose={props.onClose}
      wide
      testId="manage-dialog"
    >
      <dl class="facts">
        <div>
          <dt>State</dt>
          <dd>
            <StateBadge state={t.state} expiresAt={t.expires_at} />
          </dd>
        </div>
        <div>
          <dt>Service account</dt>
          <dd>
            {t.service_account.name} <span class="muted">in {t.service_account.project}</span>{" "}
            {sa ? <RoleBadge role={sa.role} scope={sa.scope} /> : null}
          </dd>
        </div>
        <div>
          <dt>Token id</dt>
          <dd>
            <code>{t.id}</code>
          </dd>
        </div>
        <div>
          <dt>Access · format</dt>
          <dd>
            {t.access} · {t.format}
          </dd>
        </div>
        <div>
          <dt>Created</dt>
          <dd>
            <When iso={t.created_at} /> <span class="muted">by {t.created_by}</span>
          </dd>
        </div>
        <div>
          <dt>Expires</dt>
          <dd>
            <When iso={t.expires_at} />
          </dd>
        </div>
        <div>
          <dt>Last used</dt>
          <dd>
            <When iso={t.last_used_at} />
          </dd>
        </div>
        {t.rotated_from || t.rotated_to ? (
          <div>
            <dt>Rotation</dt>
            <dd>
              {t.rotated_from ? (
                <>
                  replaces <code>{t.rotated_from}</code>{" "}
                </>
              ) : null}
              {t.rotated_to ? (
                <>
                  replaced by <code>{t.rotated_to}</code>
                </>
              ) : null}
            </dd>
          </div>
        ) : null}
      </dl>
      {editable || roleEditable ? (
        <form onSubmit={save} noValidate>
          <ProblemNote problem={problem} fields={["name", "description", "owner"]} />
          {editable ? (
            <>
              <TextField
                label="Name"
                name="name"
                value={name}
                onInput={setName}
                error={
                  fieldError(problem, "name") ??
                  (problem?.code === "already_exists" ? problem.message : undefined)
                }
                maxLength={128}
              />
              <TextField
                label="Description"
                name="description"
                value={description}
                onInput={setDescription}
                error={fieldError(problem, "description")}
                maxLength={1024}
                multiline
              />
              <TextField
                label="Owner"
                name="owner"
                value={owner}
                onInput={setOwner}
                error={fieldError(problem, "owner")}
                maxLength={256}
              />
            </>
          ) : null}
          {sa ? (
            <SelectField
              label={`Role of service account ${sa.name}`}
              name="role"
              value={role}
              options={can.grantableRoles}
              onChange={setRole}
              error={roleProblem ? (fieldError(roleProblem, "role") ?? roleProblem.message) : undefined}
              hint={
                <>
                  <RoleHint role={can.role} /> The role applies to every token of {sa.name}.
                </>
              }
            />
          ) : null}
          <div class="actions">
            <button type="button" class="button" onClick={props.onClose}>
              Cancel
            </button>
            <button type="submit" class="button button-primary" disabled={busy}>
              {busy ? "Saving…" : "Save changes"}
            </button>
          </div>
        </form>
      ) : (
        <>
          {t.description ? <p>{t.description}</p> : null}
          <p class="muted">Owner: {t.owner || "—"}</p>
          {sa && can.canWrite && !canManage(can, sa) ? (
            <p class="hint">
              This service account's role ({sa.role}) is above yours, so you cannot change it.
            </p>
          ) : null}
          <ProblemNote problem={problem} />
          <div class="actions">
            <button type="button" class="button" onClick={props.onClose}>
              Close
            </button>
          </div>
        </>
      )}
    </Dialog>
  );
}

// ---- regenerate ------------------------------------------------------------------------------------

type Retire = "now" | "at" | "first-use";

export function RegenerateDialog(props: { token: Token; onClose: () => void; onDone: () => void }) {
  const t = props.token;
  const [retire, setRetire] = useState<Retire>("now");
  const defaultAt = new Date(Math.min(Date.now() + DAY_MS, new Date(t.expires_at).getTime()));
  const [at, setAt] = useState(toLocalInput(defaultAt));
  const [preset, setPreset] = useState("same");
  const [days, setDays] = useState("90");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const [issued, setIssued] = useState<{
    secret: string;
    name: string;
    expiresAt: string;
    previousNote: string;
  } | null>(null);

  const close = () => {
    setIssued(null);
    props.onClose();
  };

  if (issued)
    return (
      <Dialog title="Token regenerated" onClose={close} testId="regenerate-dialog">
        <SecretReveal
          secret={issued.secret}
          name={issued.name}
          expiresAt={issued.expiresAt}
          extra={<p class="hint">{issued.previousNote}</p>}
        />
        <div class="actions">
          <button type="button" class="button button-primary" onClick={close}>
            I have copied it — close
          </button>
        </div>
      </Dialog>
    );

  const submit = async (e: Event) => {
    e.preventDefault();
    setProblem(null);
    const body: Record<string, unknown> = {};
    const ttl = ttlSeconds(preset, days);
    if (ttl !== undefined) {
      if (!Number.isFinite(ttl) || ttl <= 0) {
        setProblem(
          new ApiProblem(0, "client_error", "Lifetime: enter a number of days.", [
            { field: "ttl_seconds", message: "enter a whole number of days" },
          ]),
        );
        return;
      }
      body.ttl_seconds = ttl;
    }
    if (retire === "now") body.previous_expires_in_seconds = 0;
    else {
      const iso = fromLocalInput(at);
      if (retire === "at" && !iso) {
        setProblem(
          new ApiProblem(0, "client_error", "Choose when the previous token stops working.", [
            { field: "previous_expires_at", message: "choose a date and time" },
          ]),
        );
        return;
      }
      if (iso) body.previous_expires_at = iso;
      if (retire === "first-use") body.retire_previous_on_first_use = true;
    }
    setBusy(true);
    try {
      const r = await request<IssuedToken & { previous: Token }>(
        "POST",
        `/v1/tokens/${enc(t.id)}/rotate`,
        body,
      );
      const prevEnd = r.previous.expires_at;
      const previousNote =
        retire === "now"
          ? `The previous token stopped working just now.`
          : retire === "at"
            ? `The previous token keeps working until ${absolute(prevEnd)} (${relative(prevEnd)}).`
            : `The previous token stops working as soon as this one is first used, and at the latest ${absolute(prevEnd)}.`;
      setIssued({ secret: r.token, name: r.name, expiresAt: r.expires_at, previousNote });
      props.onDone();
    } catch (err) {
      setProblem(problemOf(err));
    } finally {
      setBusy(false);
    }
  };

  const atError =
    fieldError(problem, "previous_expires_at") ??
    (problem?.code === "validation_failed" && /previous/.test(problem.message) ? problem.message : undefined);
  return (
    <Dialog title={`Regenerate ${t.name}`} onClose={close} testId="regenerate-dialog">
      <form onSubmit={submit} noValidate>
        <p>
          A new secret is made for token <strong>{t.name}</strong> of{" "}
          <strong>{t.service_account.name}</strong> (project {t.service_account.project}), with the same name,
          access and owner. Choose when the current secret stops working:
        </p>
        <ProblemNote problem={problem} fields={["previous_expires_at", "ttl_seconds"]} />
        <fieldset class="choices">
          <legend>Expire the previous token</legend>
          <label class="check">
            <input
              type="radio"
              name="retire"
              value="now"
              checked={retire === "now"}
              onChange={() => setRetire("now")}
            />
            <span>
              <strong>Immediately</strong>
              <span class="hint"> — anything still using it gets 401 at once.</span>
            </span>
          </label>
          <label class="check">
            <input
              type="radio"
              name="retire"
              value="at"
              checked={retire === "at"}
              onChange={() => setRetire("at")}
            />
            <span>
              <strong>At a date and time</strong>
              <span class="hint"> — both work until then, so you can roll out the new one.</span>
            </span>
          </label>
          <label class="check">
            <input
              type="radio"
              name="retire"
              value="first-use"
              checked={retire === "first-use"}
              onChange={() => setRetire("first-use")}
            />
            <span>
              <strong>When the new token is first used</strong>
              <span class="hint"> — or at the date below, whichever comes first.</span>
            </span>
          </label>
        </fieldset>
        {retire !== "now" ? (
          <Field
            label={retire === "at" ? "Previous token stops working at" : "At the latest at"}
            error={atError}
            hint={`Your local time. Not later than the token's own expiry, ${absolute(t.expires_at)}.`}
          >
            {({ id, describedBy, invalid }) => (
              <input
                id={id}
                name="previous_expires_at"
                type="datetime-local"
                value={at}
                min={toLocalInput(new Date())}
                max={toLocalInput(new Date(t.expires_at))}
                aria-describedby={describedBy}
                aria-invalid={invalid || undefined}
                onInput={(e) => setAt(e.currentTarget.value)}
              />
            )}
          </Field>
        ) : null}
        <Lifetime
          preset={preset}
          days={days}
          onPreset={setPreset}
          onDays={setDays}
          error={fieldError(problem, "ttl_seconds")}
          allowSame
        />
        <div class="actions">
          <button type="button" class="button" onClick={close}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? "Regenerating…" : "Regenerate"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// ---- delete ----------------------------------------------------------------------------------------

export function RevokeTokenDialog(props: { token: Token; onClose: () => void; onDone: () => void }) {
  const { notify } = useApp();
  const t = props.token;
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const recentlyUsed = t.last_used_at !== null && Date.now() - new Date(t.last_used_at).getTime() < DAY_MS;
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await request("DELETE", `/v1/tokens/${enc(t.id)}`);
      notify(`Token ${t.name} was revoked.`);
      props.onDone();
      props.onClose();
    } catch (err) {
      setProblem(problemOf(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Delete token ${t.name}?`} onClose={props.onClose} testId="delete-dialog">
      <form onSubmit={submit}>
        <p class="consequence" data-testid="consequence">
          Token <strong>{t.name}</strong> of service account <strong>{t.service_account.name}</strong> in
          project <strong>{t.service_account.project}</strong> will stop working at once: anything that sends
          it gets 401.
        </p>
        <p class={recentlyUsed ? "warning" : "muted"}>
          {t.last_used_at
            ? `It was last used ${relative(t.last_used_at)} (${absolute(t.last_used_at)}).`
            : "It has never been used."}{" "}
          This cannot be undone; the token stays in the list as revoked.
        </p>
        <ProblemNote problem={problem} />
        <div class="actions">
          <button type="button" class="button" onClick={props.onClose} autoFocus>
            Cancel
          </button>
          <button type="submit" class="button button-danger" disabled={busy}>
            {busy ? "Deleting…" : "Delete token"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

export function DeleteServiceAccountDialog(props: {
  account: ServiceAccount;
  onClose: () => void;
  onDone: () => void;
}) {
  const { notify } = useApp();
  const sa = props.account;
  const [active, setActive] = useState<Token[] | null>(null);
  const [typed, setTyped] = useState("");
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    all<Token>(`${saPath(sa.project, sa.name)}/tokens?state=active`).then(setActive, (e: unknown) =>
      setProblem(problemOf(e)),
    );
  }, [sa.id]);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (typed !== sa.name) {
      setProblem(
        new ApiProblem(0, "client_error", "Type the name exactly.", [
          { field: "confirm", message: `type ${sa.name} to confirm` },
        ]),
      );
      return;
    }
    setBusy(true);
    try {
      await request("DELETE", saPath(sa.project, sa.name));
      notify(`Service account ${sa.name} was deleted.`);
      props.onDone();
      props.onClose();
    } catch (err) {
      setProblem(problemOf(err));
      setBusy(false);
    }
  };
  return (
    <Dialog title={`Delete service account ${sa.name}?`} onClose={props.onClose} testId="delete-dialog">
      <form onSubmit={submit} noValidate>
        <p class="consequence" data-testid="consequence">
          {active === null
            ? "Counting its tokens…"
            : active.length === 0
              ? `${sa.name} in project ${sa.project} has no active tokens; nothing that uses it will keep working.`
              : `${plural(active.length, "active token")} of ${sa.name} in project ${sa.project} will stop working.`}
        </p>
        {active && active.length > 0 ? (
          <ul class="token-names">
            {active.slice(0, 10).map((t) => (
              <li key={t.id}>
                {t.name} <span class="muted">— last used {relative(t.last_used_at)}</span>
              </li>
            ))}
            {active.length > 10 ? <li class="muted">and {active.length - 10} more</li> : null}
          </ul>
        ) : null}
        <p class="muted">All its tokens are revoked and the account is removed. This cannot be undone.</p>
        <TextField
          label={`Type ${sa.name} to confirm`}
          name="confirm"
          value={typed}
          onInput={setTyped}
          error={fieldError(problem, "confirm")}
          autoFocus
        />
        <ProblemNote problem={problem} fields={["confirm"]} />
        <div class="actions">
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-danger" disabled={busy || active === null}>
            {busy ? "Deleting…" : "Delete service account"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}

// ---- edit service account --------------------------------------------------------------------------

export function EditServiceAccountDialog(props: {
  account: ServiceAccount;
  onClose: () => void;
  onSaved: () => void;
}) {
  const { can, notify } = useApp();
  const sa = props.account;
  const [description, setDescription] = useState(sa.description);
  const [owner, setOwner] = useState(sa.owner);
  const [role, setRole] = useState<Role>(sa.role);
  const [disabled, setDisabled] = useState(sa.disabled);
  const [problem, setProblem] = useState<ApiProblem | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const patch: Record<string, unknown> = {};
    if (description !== sa.description) patch.description = description;
    if (owner !== sa.owner) patch.owner = owner;
    if (role !== sa.role) patch.role = role;
    if (disabled !== sa.disabled) patch.disabled = disabled;
    if (Object.keys(patch).length === 0) return props.onClose();
    setBusy(true);
    try {
      await request("PATCH", saPath(sa.project, sa.name), patch);
      notify(`Saved service account ${sa.name}.`);
      props.onSaved();
      props.onClose();
    } catch (err) {
      setProblem(problemOf(err));
      setBusy(false);
    }
  };
  const roleError =
    problem &&
    (fieldError(problem, "role") ??
      (problem.code.endsWith("ceiling_exceeded") ? problem.message : undefined));
  return (
    <Dialog title={`Manage service account ${sa.name}`} onClose={props.onClose} testId="edit-sa-dialog">
      <form onSubmit={submit} noValidate>
        <p class="muted">
          <code>{sa.email}</code>
        </p>
        <ProblemNote problem={problem} fields={["description", "owner", "role"]} />
        <TextField
          label="Description"
          name="description"
          value={description}
          onInput={setDescription}
          error={fieldError(problem, "description")}
          multiline
          maxLength={1024}
        />
        <TextField
          label="Owner"
          name="owner"
          value={owner}
          onInput={setOwner}
          error={fieldError(problem, "owner")}
          maxLength={256}
        />
        <SelectField
          label="Role"
          name="role"
          value={role}
          options={
            can.grantableRoles.includes(sa.role) ? can.grantableRoles : [...can.grantableRoles, sa.role]
          }
          onChange={setRole}
          error={roleError ?? undefined}
          hint={<RoleHint role={can.role} />}
        />
        <label class="check">
          <input
            type="checkbox"
            name="disabled"
            checked={disabled}
            onChange={(e) => setDisabled(e.currentTarget.checked)}
          />
          <span>
            Disabled <span class="hint">— its tokens authenticate nothing while it is disabled.</span>
          </span>
        </label>
        <div class="actions">
          <button type="button" class="button" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="button button-primary" disabled={busy}>
            {busy ? "Saving…" : "Save changes"}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
