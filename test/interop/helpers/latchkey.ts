import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import * as jose from "jose";
import { CLI, REPO_ROOT, freePort, http, tempDataDir } from "../../helpers/process.ts";

/**
 * A real `latchkey server` process, like test/helpers/process.ts starts, that can also be restarted
 * on the same port and data directory (so that its issuer, `http://127.0.0.1:PORT`, stays the same),
 * with another environment: another signing algorithm, or after its store was aged.
 */
export interface Latchkey {
  /** The base URL, which is also the issuer. */
  url: string;
  issuer: string;
  dataDir: string;
  /** The organization owner's token (written by the server on first start). */
  admin: string;
  api<T = any>(
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<{ status: number; body: T }>;
  /** Stops (SIGTERM) and starts again on the same port and data directory. */
  restart(env?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
  /** Stops, and removes the data directory. */
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Servers still running; killed if the test worker exits without stopping them. */
const live = new Set<ChildProcess>();
process.once("exit", () => {
  for (const child of live) child.kill("SIGKILL");
});

function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith("LATCHKEY_")) env[key] = value;
  return { ...env, LATCHKEY_LOG_LEVEL: "warn", ...extra };
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

async function spawnServer(port: number, dataDir: string, env: Record<string, string>): Promise<Running> {
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [CLI, "server", "--listen", `127.0.0.1:${port}`, "--data-dir", dataDir],
    { cwd: REPO_ROOT, env: childEnv(env), stdio: ["ignore", "pipe", "pipe"] },
  );
  let output = "";
  child.stdout?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  child.stderr?.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  live.add(child);
  let done = false;
  const exited = new Promise<void>((resolve) =>
    child.once("close", () => {
      done = true;
      live.delete(child);
      resolve();
    }),
  );
  const deadline = Date.now() + 20_000;
  while (!done && Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.status === 200) return { child, output: () => output, exited };
    } catch {
      // not listening yet
    }
    await sleep(50);
  }
  child.kill("SIGKILL");
  await exited;
  throw new Error(`latchkey server did not become healthy at ${url}\n${output}`);
}

async function stopServer(running: Running | undefined): Promise<void> {
  if (!running || running.child.exitCode !== null || running.child.signalCode !== null) return;
  running.child.kill("SIGTERM");
  const timer = setTimeout(() => running.child.kill("SIGKILL"), 10_000);
  await running.exited;
  clearTimeout(timer);
}

/** Starts Latchkey on a free loopback port with a fresh data directory (ES256 unless `alg` says). */
export async function startLatchkey(options: { alg?: "ES256" | "EdDSA" | "RS256" } = {}): Promise<Latchkey> {
  const dataDir = tempDataDir();
  const env = { LATCHKEY_SIGNING_ALG: options.alg ?? "ES256" };
  let port = 0;
  let running: Running | undefined;
  for (let attempt = 1; !running; attempt++) {
    port = await freePort();
    try {
      running = await spawnServer(port, dataDir, env);
    } catch (error) {
      if (attempt >= 3 || !String(error).includes("EADDRINUSE")) throw error;
    }
  }
  const url = `http://127.0.0.1:${port}`;
  const admin = readFileSync(join(dataDir, "bootstrap-token"), "utf8").trim();
  return {
    url,
    issuer: url,
    dataDir,
    admin,
    api: async (method, path, body, token) => {
      const res = await http(url, method, path, { token: token ?? admin, body });
      return { status: res.status, body: res.body };
    },
    restart: async (extra = {}) => {
      await stopServer(running);
      running = await spawnServer(port, dataDir, { ...env, ...extra });
    },
    stop: () => stopServer(running),
    close: async () => {
      await stopServer(running);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Asserts a status, with the body in the message when it is another. */
async function expectStatus<T>(
  call: Promise<{ status: number; body: T }>,
  status: number,
  what: string,
): Promise<T> {
  const res = await call;
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

/** The audience a relying service (the "orders" API) accepts, in the examples and tests alike. */
export const AUDIENCE = "https://orders.example.com";

export interface Minted {
  accountId: string;
  accountName: string;
  /** A JWT-format token (`format: jwt`): it has a row, so it can be revoked and introspected. */
  jwtToken: { token: string; id: string };
  /** A short-lived JWT from a token request (Kubernetes TokenRequest semantics): no row. */
  requested: { token: string };
}

/** A service account in `default` with a JWT-format token and a token-request JWT, both for AUDIENCE. */
export async function mintJwts(lk: Latchkey, accountName = "orders-client"): Promise<Minted> {
  const account = await expectStatus(
    lk.api("POST", "/v1/projects/default/service-accounts", { name: accountName, role: "viewer" }),
    201,
    "create service account",
  );
  return { accountId: (account as any).id, accountName, ...(await mintMore(lk, accountName)) };
}

/** Two more JWTs for an existing account, signed by whatever key is active now. */
export async function mintMore(
  lk: Latchkey,
  accountName: string,
): Promise<Omit<Minted, "accountId" | "accountName">> {
  const base = `/v1/projects/default/service-accounts/${accountName}`;
  const jwtToken: any = await expectStatus(
    lk.api("POST", `${base}/tokens`, {
      name: `jwt-${Date.now()}`,
      format: "jwt",
      access: "read-only",
      audiences: [AUDIENCE],
      ttl_seconds: 3600,
    }),
    201,
    "create JWT-format token",
  );
  const requested: any = await expectStatus(
    lk.api("POST", `${base}/token-requests`, { audiences: [AUDIENCE], expiration_seconds: 600 }),
    201,
    "token request",
  );
  return { jwtToken: { token: jwtToken.token, id: jwtToken.id }, requested: { token: requested.token } };
}

/** Makes a new active signing key; returns its kid. */
export async function rotateSigningKey(lk: Latchkey): Promise<string> {
  const key: any = await expectStatus(lk.api("POST", "/v1/signing-keys/rotate"), 201, "rotate signing key");
  return key.kid;
}

export async function revokeToken(lk: Latchkey, id: string): Promise<void> {
  await expectStatus(lk.api("DELETE", `/v1/tokens/${id}`), 204, "revoke token");
}

export async function publishedKids(lk: Latchkey): Promise<string[]> {
  const jwks: any = await expectStatus(lk.api("GET", "/.well-known/jwks.json"), 200, "JWKS");
  return jwks.keys.map((k: { kid: string }) => k.kid);
}

/**
 * Stops the server and moves a retired key's retirement back in time, as if it had retired long ago:
 * once the longest short-lived token it could have signed is over, the server stops publishing it
 * (unless a live JWT-format token still needs it). The server caches its keys: `restart` it next.
 */
export async function ageRetiredKey(lk: Latchkey, kid: string, retiredSecondsAgo: number): Promise<void> {
  await lk.stop();
  const db = new Database(join(lk.dataDir, "latchkey.db"));
  try {
    const at = new Date(Date.now() - retiredSecondsAgo * 1000).toISOString();
    const changed = db
      .prepare("UPDATE signing_keys SET retired_at = ? WHERE kid = ? AND retired_at IS NOT NULL")
      .run(at, kid).changes;
    if (changed !== 1) throw new Error(`no retired signing key ${kid}`);
  } finally {
    db.close();
  }
}

export const kidOf = (token: string): string => String(jose.decodeProtectedHeader(token).kid);

export interface Forged {
  /** Our claims, signed by a key Latchkey never had, under a kid it never published. */
  unknownKid: string;
  /** Our claims under a kid Latchkey publishes, signed by another key of the same algorithm. */
  knownKidOtherKey: string;
  /** Our claims with `alg: none` and no signature, under a published kid. */
  algNone: string;
}

/** Look-alikes of a real token, for the verifiers to refuse. */
export async function forge(token: string): Promise<Forged> {
  const header = jose.decodeProtectedHeader(token);
  const claims = jose.decodeJwt(token);
  const alg = String(header.alg);
  const { privateKey } = await jose.generateKeyPair(alg);
  const sign = (kid: string) =>
    new jose.SignJWT(claims).setProtectedHeader({ alg, typ: "at+jwt", kid }).sign(privateKey);
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
  return {
    unknownKid: await sign("not-a-latchkey-kid"),
    knownKidOtherKey: await sign(String(header.kid)),
    algNone: `${b64({ alg: "none", typ: "at+jwt", kid: header.kid })}.${b64(claims)}.`,
  };
}
