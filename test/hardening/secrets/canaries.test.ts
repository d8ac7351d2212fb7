/**
 * Secret hygiene at scale: 1,000 canary tokens through the real process (debug logs), then a search
 * for every one of them, in every encoding a leak could take, in everything the server keeps or
 * says.
 *
 * test/process/secrets-canary.test.ts walks a few dozen secrets through every way a client can get
 * them wrong (in URLs, bodies, headers, look-alikes) and searches responses, audit, /metrics and
 * logs for them in clear. This suite builds on it with volume and depth: 1,000 tokens (opaque and
 * JWT-format; some rotated, revoked, used, used in failed requests, sent where they do not belong),
 * web UI session ids, and a search of
 *  - the server's stdout and stderr (the real process, debug level),
 *  - the database files (every table, raw bytes of the SQLite file, its WAL and shared memory),
 *  - the audit log (every page, via the API),
 *  - every API response body and header recorded during the run (minus the one `token` field of a
 *    create or rotate response, and the Set-Cookie of a UI sign-in),
 *  - /metrics, and the web UI's HTML (/ui, /ui/tokens) and every JS and CSS asset they load,
 * for each secret raw, base64, base64url (at every byte alignment), URL-encoded and JSON-escaped:
 * 0 hits.
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type HttpOptions,
  type HttpResponse,
  http,
  type ServerProcess,
  startServerProcess,
} from "../../helpers/process.ts";

const LONG = process.env.LATCHKEY_HARDENING === "long";
const CANARIES = 1_000;
const TOKEN_SHAPE = /lk_[0-9A-Za-z]{49}/;
/** Characters of an encoded secret that count as a hit (a window from its random part). */
const KEY_LENGTH = 20;

interface Place {
  place: string;
  text: string;
}

/**
 * Every form a secret could leak in, each cut to a window of KEY_LENGTH characters that any leak of
 * the whole form contains: raw, URL-encoded, JSON-escaped, and base64 / base64url at byte offsets 0,
 * 1 and 2 (the characters that depend on neighbouring bytes are cut off).
 */
function forms(secret: string): Map<string, string> {
  const out = new Map<string, string>();
  const window = (label: string, encoded: string) => {
    // From the end: a JWT's header is the same for many tokens; its signature is not.
    const end = encoded.length - 6;
    out.set(encoded.slice(end - KEY_LENGTH, end), label);
  };
  window("raw", secret);
  window("url-encoded", encodeURIComponent(secret));
  window("json-escaped", JSON.stringify(secret).slice(1, -1));
  for (let k = 0; k < 3; k++) {
    const bytes = Buffer.concat([Buffer.alloc(k, 0x20), Buffer.from(secret)]);
    const skip = k === 0 ? 0 : 4;
    for (const encoding of ["base64", "base64url"] as const) {
      const encoded = bytes.toString(encoding).replace(/=+$/, "");
      window(`${encoding}@${k}`, encoded.slice(skip, encoded.length - 4));
    }
  }
  return out;
}

describe("secret hygiene: 1,000 canaries, every encoding, every place", () => {
  let server: ServerProcess;
  let boot = "";
  const places: Place[] = [];
  /** Every secret, by label. */
  const secrets = new Map<string, string>();
  const counts = { created: 0, rotated: 0, revoked: 0, used: 0, failed: 0, jwt: 0, sessions: 0 };

  const record = (place: string, res: HttpResponse, text = res.text) => {
    const headers = JSON.stringify(Object.fromEntries(res.headers.entries()));
    places.push({ place: `response of ${place}`, text: `${res.status} ${headers}\n${text}` });
  };
  const api = async (place: string, method: string, path: string, options: HttpOptions = {}) => {
    const res = await http(server.url, method, path, { token: boot, ...options });
    record(place, res);
    return res;
  };
  /** A response that carries a new secret in its `token` field, which alone is not recorded. */
  const issued = (label: string, res: HttpResponse): { id: string; token: string } => {
    if (res.status !== 201) throw new Error(`${label}: ${res.status} ${res.text}`);
    const { token, ...rest } = res.body as { token: string; id: string };
    expect(res.text.split(token).length - 1).toBe(1);
    const headers = JSON.stringify(Object.fromEntries(res.headers.entries()));
    places.push({ place: `response of ${label}`, text: `${res.status} ${headers}\n${JSON.stringify(rest)}` });
    secrets.set(label, token);
    return { id: rest.id, token };
  };

  beforeAll(async () => {
    // Thousands of deliberately failed authentications from one address: the limiter stays out of it.
    server = await startServerProcess({
      logLevel: "debug",
      env: { LATCHKEY_FAILED_AUTH_LIMIT: "1000000/60s" },
    });
    boot = server.stdout().match(TOKEN_SHAPE)?.[0] ?? "";
    expect(boot).not.toBe("");
  });

  afterAll(async () => {
    await server?.stop();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
  });

  it(
    "issues 1,000 canaries and rotates, revokes, uses and misuses them",
    async () => {
      await api("create project", "POST", "/v1/projects", { body: { name: "canary" } });
      const accounts = ["writer", "reader", "admin"];
      for (const [i, name] of accounts.entries()) {
        const role = ["contributor", "viewer", "admin"][i];
        await api(`create ${name}`, "POST", "/v1/projects/canary/service-accounts", {
          body: { name, role, description: `canary account ${name}` },
        });
      }
      const live: { label: string; id: string; token: string; account: string }[] = [];
      for (let i = 0; i < CANARIES; i++) {
        const account = accounts[i % accounts.length]!;
        const format = i % 10 === 9 ? "jwt" : "opaque";
        const label = `c${i}`;
        const res = await http(server.url, "POST", `/v1/projects/canary/service-accounts/${account}/tokens`, {
          token: boot,
          body: {
            name: label,
            format,
            access: i % 7 === 0 ? "read-only" : "read-write",
            description: `canary ${i}`,
            labels: { n: String(i) },
          },
        });
        live.push({ label, account, ...issued(label, res) });
        counts.created += 1;
        if (format === "jwt") counts.jwt += 1;
      }
      const step = LONG ? 1 : 4;
      for (const [i, t] of live.entries()) {
        // Used: a successful call with it.
        if (i % 5 === 0 || (LONG && i % 2 === 0)) {
          const res = await api(`whoami ${t.label}`, "GET", "/v1/whoami", { token: t.token });
          expect(res.status, res.text).toBe(200);
          counts.used += 1;
        }
        // Used in failed requests, and sent where it does not belong.
        if ((i + step - 1) % step === 0) {
          const misuses: [string, string, HttpOptions][] = [
            ["forbidden call", "POST", { token: t.token, body: { name: `p-${i}` } }],
            ["query string", "GET", { token: undefined, headers: {} }],
            ["body", "POST", { token: boot, body: { name: `bad name ${t.token}`, description: t.token } }],
            [
              "basic auth",
              "GET",
              {
                token: undefined,
                headers: { authorization: `Basic ${Buffer.from(`x:${t.token}`).toString("base64")}` },
              },
            ],
            ["look-alike", "GET", { token: `${t.token.slice(0, -1)}${t.token.endsWith("A") ? "B" : "A"}` }],
            [
              "two bearers",
              "GET",
              { token: undefined, headers: { authorization: `Bearer ${t.token} ${t.token}` } },
            ],
          ];
          const paths: Record<string, string> = {
            "forbidden call": "/v1/projects",
            "query string": `/v1/whoami?access_token=${t.token}&token=${encodeURIComponent(t.token)}`,
            body: "/v1/projects",
            "basic auth": "/v1/whoami",
            "look-alike": "/v1/whoami",
            "two bearers": "/v1/whoami",
          };
          for (const [what, method, options] of misuses) {
            if (what === "forbidden call" && t.account !== "reader") continue;
            const res = await http(server.url, method, paths[what]!, options);
            record(`${what} with ${t.label}`, res);
            expect(res.status, `${what}: ${res.text}`).toBeGreaterThanOrEqual(400);
            expect(res.status, `${what}: ${res.text}`).toBeLessThan(500);
            counts.failed += 1;
          }
        }
        // Rotated (the successor is a canary too), or revoked (and then used: 401).
        if (i % 5 === 2 && !t.token.startsWith("eyJ")) {
          const res = await http(server.url, "POST", `/v1/tokens/${t.id}/rotate`, {
            token: boot,
            body: i % 2 ? { previous_expires_in_seconds: 600 } : {},
          });
          issued(`${t.label}-rotated`, res);
          counts.rotated += 1;
        } else if (i % 5 === 3) {
          const revoke = await api(`revoke ${t.label}`, "DELETE", `/v1/tokens/${t.id}`);
          expect(revoke.status).toBe(204);
          const dead = await api(`use revoked ${t.label}`, "GET", "/v1/whoami", { token: t.token });
          expect(dead.status).toBe(401);
          counts.revoked += 1;
        }
      }
      // Self-service with canaries: rotate itself, revoke itself.
      const selfRotating = live.find((t, i) => i % 7 !== 0 && i % 5 === 4 && !t.token.startsWith("eyJ"))!;
      issued(
        `${selfRotating.label}-self-rotated`,
        await http(server.url, "POST", "/v1/tokens/self/rotate", { token: selfRotating.token, body: {} }),
      );
      // Web UI sessions: the session id is a secret too.
      for (const t of live.filter((_, i) => i % 100 === 6)) {
        const signIn = await http(server.url, "POST", "/ui/session", {
          body: { token: t.token },
          headers: { origin: server.url },
        });
        expect(signIn.status, signIn.text).toBe(201);
        const cookie = signIn.headers.get("set-cookie") ?? "";
        const session = /^([^=]+)=([^;]+)/.exec(cookie);
        expect(session, cookie).not.toBeNull();
        secrets.set(`session of ${t.label}`, decodeURIComponent(session![2]!));
        const rest = JSON.stringify(
          Object.fromEntries([...signIn.headers].filter(([k]) => k !== "set-cookie")),
        );
        places.push({ place: `UI sign-in with ${t.label}`, text: `${rest}\n${signIn.text}` });
        const headers = { cookie: `${session![1]}=${session![2]}`, origin: server.url };
        const current = await http(server.url, "GET", "/ui/session", { headers });
        expect(current.status, current.text).toBe(200);
        record(`UI session of ${t.label}`, current);
        record(`UI tokens of ${t.label}`, await http(server.url, "GET", "/v1/tokens?limit=50", { headers }));
        counts.sessions += 1;
      }
      expect(secrets.size).toBeGreaterThanOrEqual(CANARIES);
    },
    LONG ? 1_800_000 : 600_000,
  );

  it(
    "finds none of them, in any encoding, in logs, database, audit, responses, metrics or UI",
    async () => {
      // The audit log, every page (and the chain check).
      let cursor: string | null = null;
      let events = 0;
      do {
        const page: HttpResponse = await api(
          "audit page",
          "GET",
          `/v1/audit-events?limit=500${cursor ? `&cursor=${cursor}` : ""}`,
        );
        expect(page.status).toBe(200);
        events += page.body.items.length;
        cursor = page.body.next_cursor;
      } while (cursor);
      expect(events).toBeGreaterThan(CANARIES);
      await api("audit verify", "GET", "/v1/audit-events?verify=true");
      // Every view of every token, page by page.
      cursor = null;
      do {
        const page: HttpResponse = await api(
          "token list",
          "GET",
          `/v1/tokens?limit=200${cursor ? `&cursor=${cursor}` : ""}`,
        );
        expect(page.status, page.text).toBe(200);
        cursor = page.body.next_cursor;
      } while (cursor);
      const metrics = await api("metrics", "GET", "/metrics", { token: undefined });
      expect(metrics.status).toBe(200);
      // The UI: its pages and every asset they load.
      const assets = new Set<string>();
      for (const page of ["/ui", "/ui/tokens"]) {
        const res = await api(`UI page ${page}`, "GET", page, { token: undefined });
        expect(res.status).toBe(200);
        for (const m of res.text.matchAll(/(?:src|href)="([^"]+)"/g))
          if (m[1]!.startsWith("/")) assets.add(m[1]!);
      }
      for (const asset of assets) await api(`UI asset ${asset}`, "GET", asset, { token: undefined });
      expect(assets.size).toBeGreaterThan(0);

      expect(await server.stop()).toBe(0);
      places.push({ place: "stdout (after the bootstrap line)", text: server.stdout().replace(boot, "") });
      places.push({ place: "stderr", text: server.stderr() });
      for (const file of readdirSync(server.dataDir)) {
        if (file === "bootstrap-token") continue;
        places.push({
          place: `data file ${file}`,
          text: readFileSync(join(server.dataDir, file)).toString("latin1"),
        });
      }

      // One pass over each place: every window of KEY_LENGTH characters, looked up among all forms.
      const keys = new Map<string, string>();
      for (const [label, secret] of secrets) {
        for (const [key, form] of forms(secret)) keys.set(key, `${label} (${form})`);
      }
      const hits: string[] = [];
      let bytes = 0;
      for (const { place, text } of places) {
        bytes += text.length;
        for (let i = 0; i + KEY_LENGTH <= text.length; i++) {
          const found = keys.get(text.slice(i, i + KEY_LENGTH));
          if (found) hits.push(`${found} in ${place}`);
        }
      }
      // The search finds what is there, in every form: planted copies of one canary are all found.
      const [plantedLabel, planted] = [...secrets][1]!;
      const plants = [
        planted,
        encodeURIComponent(planted),
        JSON.stringify(planted),
        ...[0, 1, 2].flatMap((k) =>
          (["base64", "base64url"] as const).map((e) =>
            Buffer.from(`${"#".repeat(k)}${planted}`).toString(e),
          ),
        ),
      ];
      for (const plant of plants) {
        const text = `prefix ${plant} suffix`;
        let found = false;
        for (let i = 0; i + KEY_LENGTH <= text.length; i++)
          found ||= keys.get(text.slice(i, i + KEY_LENGTH))?.startsWith(plantedLabel) ?? false;
        expect(found, `planted ${plant}`).toBe(true);
      }
      // And the bootstrap token is in the first stdout line.
      const bootKeys = [...forms(boot).keys()];
      expect(server.stdout().includes(bootKeys[0]!)).toBe(true);
      console.log(
        `secret hygiene: ${secrets.size} secrets (${JSON.stringify(counts)}), ${keys.size} distinct encoded windows, ` +
          `searched in ${places.length} places, ${(bytes / 1e6).toFixed(1)} MB: ${hits.length} hits`,
      );
      expect(hits).toEqual([]);
    },
    LONG ? 1_800_000 : 600_000,
  );
});
