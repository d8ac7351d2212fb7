import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SigningAlgorithm } from "../../../src/keys/key-ring.ts";
import { CLOCK_SKEW_SECONDS as SERVER_SKEW, verifyAccessToken } from "../../../src/jwt/access-token.ts";
import { ManualClock } from "../../../src/lib/clock.ts";
import {
  type Attack,
  type AttackFamily,
  type AttackTarget,
  attackTokens,
  CLOCK_SKEW_SECONDS,
  controlTokens,
  everyByteFlip,
  signerFor,
  startTrap,
  watchConnections,
} from "../../helpers/attacks.ts";
import { freePort, startServer, type TestServer } from "../../helpers/server.ts";

const T0 = "2030-01-01T00:00:00.000Z";
/** Short-lived JWTs live at most this long, so a retired key is dropped after it (and the skew). */
const MAX_SHORT_LIVED = 600;
const FAMILIES: AttackFamily[] = [
  "alg none",
  "hmac with public key",
  "algorithm swap",
  "foreign key",
  "kid",
  "key url or embedded key",
  "typ",
  "iss",
  "aud",
  "time",
  "structure",
  "byte flip",
  "retired key",
];

/** Runs `work` over `items`, at most `limit` at a time. */
async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++] as T);
  });
  await Promise.all(lanes);
}

/** The four places a token is verified, each answering "refused", "accepted", or something else. */
function surfaces(server: TestServer) {
  const reviewer = server.bootstrapToken;
  const post = (path: string, init: RequestInit) => fetch(server.url + path, { method: "POST", ...init });
  return {
    async introspection(token: string) {
      const res = await post("/oauth2/introspect", {
        headers: { authorization: `Bearer ${reviewer}` },
        body: new URLSearchParams({ token }),
      });
      const text = await res.text();
      if (res.status === 200 && text === '{"active":false}') return "refused";
      if (res.status === 200 && JSON.parse(text).active === true) return "accepted";
      return `${res.status} ${text}`;
    },
    async tokenReview(token: string) {
      const res = await post("/apis/authentication.k8s.io/v1/tokenreviews", {
        headers: { authorization: `Bearer ${reviewer}`, "content-type": "application/json" },
        body: JSON.stringify({
          apiVersion: "authentication.k8s.io/v1",
          kind: "TokenReview",
          spec: { token },
        }),
      });
      const text = await res.text();
      const status = res.status === 201 ? JSON.parse(text).status : undefined;
      if (status?.authenticated === false) return "refused";
      if (status?.authenticated === true) return "accepted";
      return `${res.status} ${text}`;
    },
    async authCheck(token: string) {
      const res = await fetch(`${server.url}/v1/auth/check`, {
        headers: { authorization: `Bearer ${token}` },
      });
      await res.arrayBuffer();
      return res.status === 401 ? "refused" : res.status === 200 ? "accepted" : String(res.status);
    },
    async whoami(token: string) {
      const res = await fetch(`${server.url}/v1/whoami`, { headers: { authorization: `Bearer ${token}` } });
      const text = await res.text();
      return res.status === 401 ? "refused" : res.status === 200 ? "accepted" : `${res.status} ${text}`;
    },
  };
}

describe("the outbound-connection detectors", () => {
  it("see a fetch of the trap: the trap counts it, the watch names it", async () => {
    const trap = await startTrap();
    const watch = watchConnections();
    try {
      await (await fetch(`${trap.url}/jwks.json`)).arrayBuffer();
      const closed = await freePort();
      await fetch(`http://127.0.0.1:${closed}/`).catch(() => undefined); // refused, but attempted
      expect(trap.connections()).toBe(1);
      expect(watch.others(0)).toEqual([trap.url.replace("http://", ""), `127.0.0.1:${closed}`]);
    } finally {
      watch.stop();
      await trap.close();
    }
  });
});

describe.each(["ES256", "EdDSA", "RS256"] as const)(
  "attacks on a %s server",
  (algorithm: SigningAlgorithm) => {
    const clock = new ManualClock(T0);
    let server: TestServer;
    let trap: Awaited<ReturnType<typeof startTrap>>;
    let connections: ReturnType<typeof watchConnections>;
    let target: AttackTarget;
    let attacks: Attack[];

    /**
     * Checks each token at target.now + its offset on every surface (or, `inTurn`, on one surface each,
     * round-robin); returns what did not go as expected.
     */
    async function verify(
      tokens: Array<{ name: string; token: string; clockOffsetSeconds?: number; audienceOnly?: true }>,
      expected: "refused" | "accepted",
      { inTurn = false } = {},
    ): Promise<string[]> {
      const problems: string[] = [];
      const on = Object.entries(surfaces(server));
      const offsets = [...new Set(tokens.map((t) => t.clockOffsetSeconds ?? 0))];
      for (const offset of offsets) {
        clock.set(new Date(target.now.getTime() + offset * 1000));
        const batch = tokens.filter((t) => (t.clockOffsetSeconds ?? 0) === offset);
        await inParallel(batch, 16, async (t) => {
          const i = tokens.indexOf(t);
          for (const [surface, check] of inTurn ? [on[i % on.length] as (typeof on)[number]] : on) {
            // RFC 7662: introspection reports a genuine token for another audience as active.
            const want = t.audienceOnly && surface === "introspection" ? "accepted" : expected;
            const got = await check(t.token);
            if (got !== want) problems.push(`${t.name}: ${surface} ${got}`);
          }
        });
      }
      clock.set(target.now);
      return problems;
    }

    beforeAll(async () => {
      trap = await startTrap();
      server = await startServer({
        clock,
        signingAlgorithm: algorithm,
        policy: { maxTokenRequestSeconds: MAX_SHORT_LIVED },
        failedAuthLimit: { maxFailures: 1e9, windowSeconds: 1 },
      });
      connections = watchConnections();
      // The first key is retired, and outlives every token it could have signed.
      const retiredKid = server.latchkey.deps.keys.active().kid;
      clock.advance(1); // keys are ordered by creation time: signerFor's default is the active one
      expect((await server.api("POST", "/v1/signing-keys/rotate")).status).toBe(201);
      clock.advance(MAX_SHORT_LIVED + CLOCK_SKEW_SECONDS + 1);
      // 100 genuine tokens to flip bytes in on the default algorithm; 10 suffice to cover every byte.
      const tokens = await Promise.all(
        Array.from({ length: algorithm === "ES256" ? 100 : 10 }, async () => {
          const res = await server.api(
            "POST",
            "/v1/projects/default/service-accounts/bootstrap/token-requests",
            {
              body: {},
            },
          );
          expect(res.status).toBe(201);
          return res.body.token as string;
        }),
      );
      target = {
        issuer: server.url,
        validToken: tokens[0] as string,
        jwks: (await server.api("GET", "/.well-known/jwks.json", { token: null })).body,
        now: clock.now(),
        sign: signerFor(server.latchkey.deps.keys.all()),
        trapUrl: trap.url,
        flipTokens: tokens,
        retiredKid,
      };
      attacks = await attackTokens(target);
    });

    afterAll(async () => {
      connections?.stop();
      await server?.close();
      await trap?.close();
    });

    it("the generator's skew is the server's", () => {
      expect(CLOCK_SKEW_SECONDS).toBe(SERVER_SKEW);
    });

    it("controls: the valid token, re-signed, and at the edges of the skew allowance, is accepted everywhere", async () => {
      const controls = await controlTokens(target);
      expect(controls.length).toBeGreaterThanOrEqual(5);
      expect(await verify(controls, "accepted")).toEqual([]);
    });

    it.each(FAMILIES.filter((f) => f !== "byte flip"))(
      "%s: refused by introspection, TokenReview, /v1/auth/check and /v1/whoami",
      async (family) => {
        const mine = attacks.filter((a) => a.family === family);
        expect(mine.length).toBeGreaterThan(0);
        expect(await verify(mine, "refused")).toEqual([]);
      },
    );

    it("byte flips: every byte of header, payload and signature, each flip refused by the surfaces in turn", async () => {
      const flips = attacks.filter((a) => a.family === "byte flip");
      // Token t's every n-th byte (n tokens): together every position of a token, once.
      const tokenBytes = Buffer.from(target.validToken.split(".").join(""), "base64url").length;
      expect(flips.length).toBeGreaterThanOrEqual(tokenBytes - (target.flipTokens?.length ?? 1));
      for (const part of ["header", "payload", "signature"]) {
        expect(flips.some((a) => a.name.includes(`${part} byte 0 flipped`))).toBe(true);
      }
      expect(await verify(flips, "refused", { inTurn: true })).toEqual([]);
    });

    it("no verifier fetched a jku or x5u, or connected anywhere", () => {
      expect(trap.connections()).toBe(0);
      expect(connections.others(Number(new URL(server.url).port))).toEqual([]);
    });

    if (algorithm === "ES256") {
      it("every byte of 100 tokens, flipped one at a time, is refused by the server's JWT verifier", async () => {
        // In process (about 50,000 tokens): the HTTP surfaces above all call this verifier first.
        const flips = [...everyByteFlip(target.flipTokens ?? [])];
        expect(flips.length).toBeGreaterThan(100 * 400);
        const accepted: string[] = [];
        const options = { issuer: server.url, now: target.now };
        for (const flip of flips) {
          const result = await verifyAccessToken(server.latchkey.deps.keys, flip.token, options);
          if (result.ok) accepted.push(flip.name);
        }
        expect(accepted).toEqual([]);
      });
    }
  },
);
