import "./styles.css";
import { render } from "preact";
import { useCallback, useEffect, useMemo, useState } from "preact/hooks";
import {
  abilities,
  all,
  ApiProblem,
  type Project,
  request,
  type Session,
  setCsrfToken,
  setSessionLostHandler,
} from "./api.ts";
import { App, type AppContext, Loading, Logo, RoleBadge } from "./components.tsx";
import { AuditPage } from "./pages/audit.tsx";
import { ExpiriesPage } from "./pages/expiries.tsx";
import { ServiceAccountsPage } from "./pages/service-accounts.tsx";
import { SignInPage } from "./pages/sign-in.tsx";
import { TokensPage } from "./pages/tokens.tsx";

const PAGES = [
  { path: "/ui/tokens", label: "API tokens" },
  { path: "/ui/service-accounts", label: "Service accounts" },
  { path: "/ui/expiries", label: "Expiries" },
  { path: "/ui/audit", label: "Audit log" },
] as const;

function currentPath(): string {
  const p = location.pathname.replace(/\/+$/, "");
  return p === "/ui" || p === "" ? "/ui/tokens" : p;
}

function Root() {
  const [path, setPath] = useState(currentPath);
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [notice, setNotice] = useState<string>("");

  const navigate = useCallback((to: string) => {
    if (to !== location.pathname + location.search) history.pushState(null, "", to);
    setPath(currentPath());
    window.scrollTo(0, 0);
  }, []);

  useEffect(() => {
    const onPop = () => setPath(currentPath());
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);

  const adopt = useCallback((s: Session | null) => {
    setCsrfToken(s?.csrf_token ?? null);
    setSession(s);
  }, []);

  // On load (and reload) the cookie is all there is: ask the server who we are.
  useEffect(() => {
    request<Session>("GET", "/ui/session").then(adopt, () => adopt(null));
  }, [adopt]);

  useEffect(() => {
    setSessionLostHandler(() => {
      setNotice("Your session has ended. Sign in again to continue.");
      adopt(null);
    });
    return () => setSessionLostHandler(null);
  }, [adopt]);

  if (session === undefined) return <Loading />;
  if (session === null)
    return (
      <SignInPage
        notice={notice}
        onSignedIn={(s) => {
          setNotice("");
          adopt(s);
          navigate(path === "/ui/sign-in" ? "/ui/tokens" : location.pathname + location.search);
        }}
      />
    );
  return (
    <Shell
      session={session}
      path={path}
      navigate={navigate}
      onSignedOut={() => {
        adopt(null);
        setNotice("You have signed out.");
        history.replaceState(null, "", "/ui/sign-in");
        setPath("/ui/sign-in");
      }}
    />
  );
}

function Shell(props: {
  session: Session;
  path: string;
  navigate: (p: string) => void;
  onSignedOut: () => void;
}) {
  const { session, path, navigate } = props;
  const [projects, setProjects] = useState<Project[] | null>(null);
  const [toast, setToast] = useState("");
  const [signOutError, setSignOutError] = useState("");
  const can = useMemo(() => abilities(session.whoami), [session]);

  useEffect(() => {
    all<Project>("/v1/projects").then(setProjects, () => setProjects([]));
  }, []);

  useEffect(() => {
    if (!toast) return;
    const t = setTimeout(() => setToast(""), 6000);
    return () => clearTimeout(t);
  }, [toast]);

  // Signed in already: the sign-in address shows the token list.
  useEffect(() => {
    if (path === "/ui/sign-in") navigate("/ui/tokens");
  }, [path]);

  useEffect(() => {
    const page = PAGES.find((p) => p.path === path);
    document.title = `${page?.label ?? "Latchkey"} · Latchkey`;
  }, [path]);

  const signOut = async () => {
    setSignOutError("");
    try {
      await request("DELETE", "/ui/session");
    } catch (e) {
      if (!(e instanceof ApiProblem) || e.status !== 401) {
        setSignOutError(e instanceof Error ? e.message : "Signing out failed.");
        return;
      }
    }
    props.onSignedOut();
  };

  const ctx: AppContext | null = projects
    ? { session, can, projects, navigate, notify: (m: string) => setToast(m) }
    : null;
  const who = session.whoami.service_account;
  const visiblePages = PAGES.filter((p) => p.path !== "/ui/audit" || can.canReadAudit);

  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="topbar">
        <a
          class="brand"
          href="/ui/tokens"
          onClick={(e) => {
            e.preventDefault();
            navigate("/ui/tokens");
          }}
        >
          <Logo />
          Latchkey
        </a>
        <nav aria-label="Main">
          <ul>
            {visiblePages.map((p) => (
              <li key={p.path}>
                <a
                  href={p.path}
                  aria-current={path === p.path ? "page" : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    navigate(p.path);
                  }}
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="whoami" data-testid="whoami">
          <span class="whoami-name" title={who.email}>
            {who.name}
            <span class="muted"> in {who.project}</span>
          </span>
          <RoleBadge role={session.whoami.effective_role} scope={who.scope} />
          <button type="button" class="button button-quiet" onClick={signOut}>
            Sign out
          </button>
          {signOutError ? (
            <span class="field-error" role="alert">
              {signOutError}
            </span>
          ) : null}
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {ctx ? (
          <App.Provider value={ctx}>
            {path === "/ui/service-accounts" ? (
              <ServiceAccountsPage />
            ) : path === "/ui/audit" ? (
              <AuditPage />
            ) : path === "/ui/expiries" ? (
              <ExpiriesPage />
            ) : path === "/ui/tokens" || path === "/ui/sign-in" ? (
              <TokensPage />
            ) : (
              <section class="page">
                <h1>Page not found</h1>
                <p>
                  There is no page at <code>{path}</code>.{" "}
                  <a
                    href="/ui/tokens"
                    onClick={(e) => {
                      e.preventDefault();
                      navigate("/ui/tokens");
                    }}
                  >
                    Go to API tokens
                  </a>
                </p>
              </section>
            )}
          </App.Provider>
        ) : (
          <Loading />
        )}
      </main>
      <div class="toast" role="status" aria-live="polite" data-testid="toast">
        {toast}
      </div>
    </div>
  );
}

render(<Root />, document.getElementById("app") ?? document.body);
