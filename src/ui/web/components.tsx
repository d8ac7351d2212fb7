import type { ComponentChildren } from "preact";
import { createContext } from "preact";
import { useContext, useEffect, useId, useRef, useState } from "preact/hooks";
import type { Abilities, ApiProblem, Project, Session, TokenState } from "./api.ts";
import { absolute, dateOnly, daysUntil, relative } from "./format.ts";

// ---- app-wide context ------------------------------------------------------------------------------

export interface AppContext {
  session: Session;
  can: Abilities;
  projects: Project[];
  navigate: (path: string) => void;
  notify: (message: string) => void;
}

export const App = createContext<AppContext | null>(null);

export function useApp(): AppContext {
  const ctx = useContext(App);
  if (!ctx) throw new Error("useApp outside the signed-in app");
  return ctx;
}

// ---- dialog ----------------------------------------------------------------------------------------

/** A native modal <dialog>: focus stays inside, Escape closes, focus returns to the opener. */
export function Dialog(props: {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
  testId?: string;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  const onClose = useRef(props.onClose);
  onClose.current = props.onClose;
  const titleId = useId();
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!dialog.open) dialog.showModal();
    const cancel = (event: Event) => {
      event.preventDefault();
      onClose.current();
    };
    dialog.addEventListener("cancel", cancel);
    return () => {
      dialog.removeEventListener("cancel", cancel);
      if (dialog.open) dialog.close();
      if (opener && document.contains(opener)) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      class={props.wide ? "dialog dialog-wide" : "dialog"}
      aria-labelledby={titleId}
      data-testid={props.testId}
    >
      <div class="dialog-head">
        <h2 id={titleId}>{props.title}</h2>
        <button type="button" class="icon-button" aria-label="Close" onClick={() => props.onClose()}>
          ×
        </button>
      </div>
      <div class="dialog-body">{props.children}</div>
    </dialog>
  );
}

// ---- form fields -----------------------------------------------------------------------------------

/** A labelled control with its hint and its error (from the API) right beneath it. */
export function Field(props: {
  label: string;
  error?: string | undefined;
  hint?: ComponentChildren;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ComponentChildren;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy =
    [props.hint ? hintId : "", props.error ? errorId : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div class={props.error ? "field field-invalid" : "field"}>
      <label for={id}>{props.label}</label>
      {props.children({ id, describedBy, invalid: Boolean(props.error) })}
      {props.hint ? (
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      ) : null}
      {props.error ? (
        <p class="field-error" id={errorId} role="alert">
          {props.error}
        </p>
      ) : null}
    </div>
  );
}

export function TextField(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
  name?: string;
  required?: boolean;
  placeholder?: string;
  type?: "text" | "number" | "search" | "password";
  autoFocus?: boolean;
  maxLength?: number;
  multiline?: boolean;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {({ id, describedBy, invalid }) =>
        props.multiline ? (
          <textarea
            id={id}
            name={props.name}
            value={props.value}
            rows={2}
            maxLength={props.maxLength}
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
            onInput={(e) => props.onInput(e.currentTarget.value)}
          />
        ) : (
          <input
            id={id}
            name={props.name}
            type={(props.type ?? "text") as "text"}
            value={props.value}
            required={props.required}
            placeholder={props.placeholder}
            maxLength={props.maxLength}
            autoFocus={props.autoFocus}
            autoComplete="off"
            spellcheck={false}
            aria-describedby={describedBy}
            aria-invalid={invalid || undefined}
            onInput={(e) => props.onInput(e.currentTarget.value)}
          />
        )
      }
    </Field>
  );
}

export function SelectField<T extends string>(props: {
  label: string;
  value: T;
  options: readonly (T | { value: T; label: string; disabled?: boolean })[];
  onChange: (value: T) => void;
  error?: string | undefined;
  hint?: ComponentChildren;
  name?: string;
  disabled?: boolean;
}) {
  return (
    <Field label={props.label} error={props.error} hint={props.hint}>
      {({ id, describedBy, invalid }) => (
        <select
          id={id}
          name={props.name}
          value={props.value}
          disabled={props.disabled}
          aria-describedby={describedBy}
          aria-invalid={invalid || undefined}
          onChange={(e) => props.onChange(e.currentTarget.value as T)}
        >
          {props.options.map((o) =>
            typeof o === "string" ? (
              <option key={o} value={o}>
                {o}
              </option>
            ) : (
              <option key={o.value} value={o.value} disabled={o.disabled}>
                {o.label}
              </option>
            ),
          )}
        </select>
      )}
    </Field>
  );
}

/** A problem that belongs to no single field, shown at the top of a form or page. */
export function ProblemNote(props: { problem: ApiProblem | null; fields?: string[] }) {
  const p = props.problem;
  if (!p) return null;
  // When every field error is shown next to its control, the summary only says so.
  const handled = props.fields
    ? p.errors.filter((e) => props.fields?.includes(e.field.split(".").pop() ?? ""))
    : [];
  const text =
    handled.length > 0 && handled.length === p.errors.length
      ? "Please correct the marked fields."
      : p.message;
  return (
    <div class="problem" role="alert" data-code={p.code}>
      {text}
    </div>
  );
}

// ---- badges and cells ------------------------------------------------------------------------------

export const EXPIRING_SOON_DAYS = 7;

export function StateBadge(props: { state: TokenState; expiresAt: string }) {
  if (props.state === "revoked") return <span class="badge badge-revoked">Revoked</span>;
  if (props.state === "expired") return <span class="badge badge-expired">Expired</span>;
  const days = daysUntil(props.expiresAt);
  if (days <= EXPIRING_SOON_DAYS)
    return (
      <span class="badge badge-soon" title={`Expires ${relative(props.expiresAt)}`}>
        Expiring soon
      </span>
    );
  return <span class="badge badge-active">Active</span>;
}

export function RoleBadge(props: { role: string; scope?: string }) {
  return (
    <span class={`role role-${props.role}`}>
      {props.role}
      {props.scope === "organization" ? " · org" : ""}
    </span>
  );
}

/** "in 3 days" with the exact date beneath (and in a <time> element for machines). */
export function When(props: { iso: string | null; empty?: string; dateOnly?: boolean }) {
  if (!props.iso) return <span class="muted">{props.empty ?? "never"}</span>;
  return (
    <time dateTime={props.iso} title={absolute(props.iso)} class="when">
      <span class="when-rel">{relative(props.iso)}</span>
      <span class="when-abs">{props.dateOnly ? dateOnly(props.iso) : absolute(props.iso)}</span>
    </time>
  );
}

/** The mark: a key in a rounded square, drawn here so no font or image file is needed. */
export function Logo() {
  return (
    <svg class="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
      <rect x="1" y="1" width="22" height="22" rx="6" class="logo-bg" />
      <circle cx="9" cy="12" r="3.6" class="logo-key" />
      <path d="M12.4 12h7.1M17 12v3M19.5 12v2.2" class="logo-key" />
    </svg>
  );
}

const ICONS = {
  edit: "M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4",
  rotate: "M20 12a8 8 0 1 1-2.4-5.7M20 4v5h-5",
  trash: "M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13M10 11v6M14 11v6",
} as const;

/** A compact row action: an icon with a tooltip on wide screens, icon and word on narrow ones. */
export function ActionButton(props: {
  icon: keyof typeof ICONS;
  label: string;
  text: string;
  onClick: () => void;
  danger?: boolean;
}) {
  return (
    <button
      type="button"
      class={props.danger ? "action-button action-danger" : "action-button"}
      aria-label={props.label}
      title={props.label}
      onClick={props.onClick}
    >
      <svg viewBox="0 0 24 24" width="18" height="18" aria-hidden="true" focusable="false">
        <path d={ICONS[props.icon]} />
      </svg>
      <span class="action-text">{props.text}</span>
    </button>
  );
}

export function Empty(props: { children: ComponentChildren }) {
  return <div class="empty">{props.children}</div>;
}

export function Loading() {
  return (
    <div class="loading" role="status">
      Loading…
    </div>
  );
}

/** Copies text to the clipboard and says so; falls back to selecting it. */
export function CopyButton(props: {
  text: string;
  label?: string;
  target?: () => HTMLInputElement | HTMLTextAreaElement | null;
}) {
  const [done, setDone] = useState<"copied" | "failed" | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(props.text);
      setDone("copied");
    } catch {
      const input = props.target?.();
      if (input) {
        input.select();
        setDone("failed");
      } else setDone("failed");
    }
  };
  return (
    <span class="copy">
      <button type="button" class="button" onClick={copy}>
        {props.label ?? "Copy"}
      </button>
      <span class="copy-status" role="status">
        {done === "copied"
          ? "Copied to the clipboard"
          : done === "failed"
            ? "Press Ctrl+C to copy the selected text"
            : ""}
      </span>
    </span>
  );
}

/** Show-once secret: the only place a token value ever appears. Unmounting it forgets it. */
export function SecretReveal(props: {
  secret: string;
  name: string;
  expiresAt: string;
  extra?: ComponentChildren;
}) {
  const input = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    input.current?.focus();
    input.current?.select();
  }, []);
  return (
    <div class="secret" data-testid="secret-reveal">
      <p class="warning" role="alert">
        <strong>Copy this token now.</strong> It is shown only once and cannot be shown again: Latchkey keeps
        only a hash of it. If you lose it, regenerate the token.
      </p>
      <label for="secret-value">
        Token <strong>{props.name}</strong> (expires {relative(props.expiresAt)}, {absolute(props.expiresAt)})
      </label>
      <div class="secret-row">
        <textarea
          id="secret-value"
          ref={input}
          class="secret-value"
          readOnly
          rows={props.secret.length > 120 ? 6 : 2}
          value={props.secret}
          spellcheck={false}
          autoComplete="off"
          data-testid="secret-value"
        />
        <CopyButton text={props.secret} target={() => input.current} />
      </div>
      {props.extra}
    </div>
  );
}
