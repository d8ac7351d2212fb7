/**
 * In-process measurements, run in a child process pinned to one core by bench/run.ts:
 *   es256-sign    jose CompactSign of a JWT-sized payload (the crypto floor for issuing JWTs)
 *   es256-verify  node:crypto's one-shot verify of its signature (the crypto floor for verifying)
 *   es256-verify-jose  jose compactVerify of it (WebCrypto), for comparison
 *   sdk-verify    @latchkey/sdk createVerifier (cached JWKS + the live revocation feed) verifying
 *                 Latchkey JWTs offline; every result is checked (subject and jti); then how long a
 *                 revocation takes to reach it (revoke over HTTP, verify until refused).
 * Usage: node --import tsx bench/inproc.ts MODE SECONDS [OPTIONS.json]; prints one JSON line.
 */
import { KeyObject, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import { CompactSign, compactVerify, exportJWK, generateKeyPair, importJWK } from "jose";
import { createVerifier, TokenRevokedError } from "../packages/sdk/src/index.ts";

interface SdkOptions {
  issuer: string;
  audience: string;
  /** Authorization header for the revocations, and the bare token the feed authenticates with. */
  auth: string;
  feedToken: string;
  /** JWTs the verifier must accept, with the jti each must yield. */
  pool: { jwt: string; jti: string; sub: string }[];
  /** JWTs to revoke one by one to time the feed. */
  revocable: string[];
}

const [mode = "", secondsText = "1", optionsFile] = process.argv.slice(2);
const optionsText = optionsFile ? readFileSync(optionsFile, "utf8") : "{}";
const seconds = Number(secondsText);

async function loop(step: (i: number) => Promise<void>): Promise<{ ops: number; seconds: number }> {
  const deadline = performance.now() + seconds * 1000;
  let ops = 0;
  const started = performance.now();
  while (performance.now() < deadline) {
    // Batches of 64 between clock reads; each one awaited, as a request handler would.
    for (let k = 0; k < 64; k++) await step(ops++);
  }
  return { ops, seconds: (performance.now() - started) / 1000 };
}

async function crypto(kind: "sign" | "verify" | "verify-jose") {
  const { privateKey, publicKey } = await generateKeyPair("ES256", { extractable: true });
  // Keys as a verifier holds them after importing a JWKS.
  const pub = await importJWK(await exportJWK(publicKey), "ES256");
  const payload = new TextEncoder().encode(
    JSON.stringify({
      iss: "http://127.0.0.1:8080",
      sub: "0194f3b2-7c1d-7000-8000-000000000001",
      aud: ["http://127.0.0.1:8080"],
      exp: 2_000_000_000,
      iat: 1_700_000_000,
      nbf: 1_700_000_000,
      jti: "0194f3b2-7c1d-7000-8000-000000000002",
      client_id: "client@bench.latchkey",
      scope: "read write",
      project: "bench",
      service_account: "client",
      access: "read-write",
    }),
  );
  const header = { alg: "ES256", kid: "k1", typ: "at+jwt" };
  const jws = await new CompactSign(payload).setProtectedHeader(header).sign(privateKey);
  let wrong = 0;
  // The raw verify: node:crypto's one-shot ECDSA P-256 verify of the JWS signing input, the key
  // imported once. The fastest ES256 verify Node has; jose's (WebCrypto) is measured beside it.
  const [encodedHeader, encodedPayload, encodedSignature] = jws.split(".") as [string, string, string];
  const signingInput = Buffer.from(`${encodedHeader}.${encodedPayload}`);
  const signature = Buffer.from(encodedSignature, "base64url");
  const publicKeyObject = KeyObject.from(publicKey as CryptoKey);
  const result =
    kind === "sign"
      ? await loop(async () => {
          const out = await new CompactSign(payload).setProtectedHeader(header).sign(privateKey);
          if (out.length < 100) wrong++;
        })
      : kind === "verify"
        ? await loop(async () => {
            const key = { key: publicKeyObject, dsaEncoding: "ieee-p1363" as const };
            if (!verify("sha256", signingInput, key, signature)) wrong++;
          })
        : await loop(async () => {
            const out = await compactVerify(jws, pub);
            if (out.payload.length !== payload.length) wrong++;
          });
  return { ...result, wrong };
}

async function sdk(options: SdkOptions) {
  const verifier = createVerifier({
    issuer: options.issuer,
    audience: options.audience,
    revocationFeed: { token: options.feedToken },
  });
  await verifier.ready;
  let wrong = 0;
  const pool = options.pool;
  for (const entry of pool) await verifier.verify(entry.jwt); // warm the JWKS cache
  const result = await loop(async (i) => {
    const entry = pool[i % pool.length] as SdkOptions["pool"][number];
    try {
      const claims = await verifier.verify(entry.jwt);
      if (claims.jti !== entry.jti || claims.sub !== entry.sub) wrong++;
    } catch {
      wrong++;
    }
  });
  // Revocation lag: from the revoke's 200 to the first offline refusal.
  const lags: number[] = [];
  let staleAfterTimeout = 0;
  for (const jwt of options.revocable) {
    await verifier.verify(jwt); // valid before
    const response = await fetch(`${options.issuer}/oauth2/revoke`, {
      method: "POST",
      headers: { authorization: options.auth, "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ token: jwt }),
    });
    if (response.status !== 200) throw new Error(`revoke answered ${response.status}`);
    const revokedAt = performance.now();
    let refused = false;
    while (performance.now() - revokedAt < 2_000) {
      try {
        await verifier.verify(jwt);
        await new Promise((resolve) => setTimeout(resolve, 1));
      } catch (error) {
        if (!(error instanceof TokenRevokedError)) throw error;
        refused = true;
        break;
      }
    }
    if (refused) lags.push(performance.now() - revokedAt);
    else staleAfterTimeout++;
  }
  await verifier.close();
  lags.sort((a, b) => a - b);
  return {
    ...result,
    wrong,
    revocation_lag_ms: {
      samples: lags.length,
      p50: lags[Math.floor(lags.length / 2)] ?? null,
      max: lags[lags.length - 1] ?? null,
      still_accepted_after_2s: staleAfterTimeout,
    },
  };
}

const out =
  mode === "es256-sign"
    ? await crypto("sign")
    : mode === "es256-verify"
      ? await crypto("verify")
      : mode === "es256-verify-jose"
        ? await crypto("verify-jose")
        : mode === "sdk-verify"
          ? await sdk(JSON.parse(optionsText) as SdkOptions)
          : undefined;
if (!out) throw new Error(`unknown mode ${mode}`);
process.stdout.write(`BENCH_JSON ${JSON.stringify(out)}\n`);
process.exit(0);
