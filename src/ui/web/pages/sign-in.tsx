import { useState } from "preact/hooks";
import { ApiProblem, request, type Session } from "../api.ts";
import { Field, Logo } from "../components.tsx";

/** Trades a token for a session cookie. The token lives only in this form's state until it is sent. */
export function SignInPage(props: { notice: string; onSignedIn: (s: Session) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!token.trim()) {
      setError("Paste a token to sign in.");
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const session = await request<Session>("POST", "/ui/session", { token: token.trim() });
      setToken("");
      props.onSignedIn(session);
    } catch (err) {
      setBusy(false);
      if (err instanceof ApiProblem && err.status === 401)
        setError(`${err.message} Check that you pasted the whole token and that it is still active.`);
      else setError(err instanceof Error ? err.message : "Signing in failed.");
    }
  };

  return (
    <main class="signin" id="main">
      <form class="signin-card" onSubmit={submit} noValidate>
        <h1>
          <Logo /> Sign in to Latchkey
        </h1>
        {props.notice ? (
          <p class="notice" role="status">
            {props.notice}
          </p>
        ) : null}
        <Field
          label="API token"
          error={error}
          hint={
            <>
              Paste a Latchkey token (<code>lk_…</code>) or a JWT issued for this server. It is sent once to
              open a session; the browser then holds only an HttpOnly session cookie, which ends when you sign
              out, after 12 hours, or when the token is revoked or expires.
            </>
          }
        >
          {({ id, describedBy, invalid }) => (
            <input
              id={id}
              name="token"
              type="password"
              autoComplete="off"
              spellcheck={false}
              autoFocus
              value={token}
              aria-describedby={describedBy}
              aria-invalid={invalid || undefined}
              onInput={(e) => setToken(e.currentTarget.value)}
            />
          )}
        </Field>
        <button type="submit" class="button button-primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
