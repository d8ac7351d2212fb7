/**
 * Attack tokens: forged, tampered, confused and mistimed JWTs that every Latchkey verifier must
 * refuse — the server's verification surfaces and the SDK's `verifyAccessToken` alike — without
 * making any outbound connection.
 *
 * ```ts
 * const trap = await startTrap();                  // put where nothing may be fetched
 * const connections = watchConnections();          // every TCP connect this process attempts
 * const target: AttackTarget = {
 *   issuer: server.url,
 *   validToken,                                    // a token-request JWT for the issuer, valid at `now`
 *   jwks: await (await fetch(`${server.url}/.well-known/jwks.json`)).json(),
 *   now: clock.now(),
 *   sign: signerFor(server.latchkey.deps.keys.all()),
 *   trapUrl: trap.url,
 *   flipTokens,                                    // e.g. 100 token-request JWTs (validToken first)
 *   retiredKid,                                    // optional: a key retired > max lifetime + skew ago
 * };
 * for (const attack of await attackTokens(target)) {
 *   // with the verifier's clock at target.now + (attack.clockOffsetSeconds ?? 0):
 *   // refuse attack.token (an `audienceOnly` one: when the verifier expects `issuer` as audience)
 * }
 * for (const control of await controlTokens(target)) {
 *   // accept control.token, at target.now + (control.clockOffsetSeconds ?? 0)
 * }
 * expect(trap.connections()).toBe(0);
 * expect(connections.others(serverPort)).toEqual([]);
 * ```
 *
 * test/http/verification/attacks.test.ts builds such a target (with a retired key) and runs it against
 * the server. `validToken` must be a short-lived JWT (a token request or an OAuth access token) for the
 * audience `issuer`: a JWT-format token has a row, whose expiry is exact, so the skew cases do not
 * apply to it. Families ({@link AttackFamily}) follow the list in the verification issue; `name` says
 * exactly what was done to the token and is unique in a list.
 */
import {
  constants,
  createHmac,
  createPublicKey,
  generateKeyPairSync,
  KeyObject,
  sign as cryptoSign,
} from "node:crypto";
import * as net from "node:net";

/** Seconds of clock skew a verifier tolerates on `exp` and `nbf` (src/jwt/access-token.ts). */
export const CLOCK_SKEW_SECONDS = 5;

export type AttackFamily =
  | "alg none"
  | "hmac with public key"
  | "algorithm swap"
  | "foreign key"
  | "kid"
  | "key url or embedded key"
  | "typ"
  | "iss"
  | "aud"
  | "time"
  | "structure"
  | "byte flip"
  | "retired key";

export interface Attack {
  family: AttackFamily;
  /** What was done, e.g. `alg "NONE", empty signature`; unique within one list. */
  name: string;
  token: string;
  /** Check with the verifier's clock moved this many seconds from `target.now` (default 0). */
  clockOffsetSeconds?: number;
  /**
   * The token is genuine apart from its audience: a verifier expecting `issuer` as audience refuses it,
   * but RFC 7662 introspection reports it active (with its `aud`, for the resource server to judge).
   */
  audienceOnly?: true;
}

/** Signs `header` and `payload` (serialized exactly as given) and returns the compact JWS. */
export type Sign = (header: Record<string, unknown>, payload: Record<string, unknown>) => Promise<string>;

export interface AttackTarget {
  /** The server's issuer URL (`iss`). */
  issuer: string;
  /** A short-lived JWT the verifier accepts at `now`, for the audience `issuer`. */
  validToken: string;
  /** The server's public JWKS (`GET /.well-known/jwks.json`). */
  jwks: { keys: Array<Record<string, unknown>> };
  /** The verifier's time at which `validToken` is valid. */
  now: Date;
  /**
   * Signs with the server's private key named by `header.kid`, or its active key when the kid names
   * none of its keys, in that key's own algorithm (see {@link signerFor}). Used to make tokens whose
   * signature is genuine and whose claims or header are wrong.
   */
  sign: Sign;
  /** A URL that must never be fetched: it goes into `jku` and `x5u` headers. */
  trapUrl: string;
  /**
   * Genuine tokens to flip bytes in (default `[validToken]`): byte i of the decoded header, payload and
   * signature (taken together) is flipped in token i mod n, so with ≥ 1 token every byte position is
   * covered once. {@link everyByteFlip} flips every byte of every token, for in-process checks.
   */
  flipTokens?: string[];
  /** The kid of a server key retired longer ago than any token it signed can live. */
  retiredKid?: string;
}

const b64u = (data: Uint8Array | string): string => Buffer.from(data).toString("base64url");
const encodeJson = (value: unknown): string => b64u(JSON.stringify(value));

interface Parts {
  header: Record<string, unknown>;
  payload: Record<string, unknown>;
  raw: [string, string, string];
}

function parse(token: string): Parts {
  const raw = token.split(".");
  if (raw.length !== 3) throw new Error("not a compact JWS");
  const [h, p, s] = raw as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, "base64url").toString("utf8")),
    payload: JSON.parse(Buffer.from(p, "base64url").toString("utf8")),
    raw: [h, p, s],
  };
}

/** Signs with a node:crypto key in the named JWS algorithm. */
function jwsSign(alg: string, key: KeyObject, input: string): Buffer {
  const data = Buffer.from(input);
  switch (alg) {
    case "ES256":
      return cryptoSign("sha256", data, { key, dsaEncoding: "ieee-p1363" });
    case "ES384":
      return cryptoSign("sha384", data, { key, dsaEncoding: "ieee-p1363" });
    case "RS256":
      return cryptoSign("sha256", data, key);
    case "PS256":
      return cryptoSign("sha256", data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
    case "EdDSA":
    case "Ed25519":
      return cryptoSign(null, data, key);
    default:
      throw new Error(`cannot sign ${alg}`);
  }
}

function compact(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  key: KeyObject,
  alg: string,
) {
  const input = `${encodeJson(header)}.${encodeJson(payload)}`;
  return `${input}.${b64u(jwsSign(alg, key, input))}`;
}

/**
 * A {@link Sign} over the server's keys, e.g. `signerFor(server.latchkey.deps.keys.all())`: the first
 * key is used when `header.kid` names none of them, so pass the active key first (`all()` does).
 */
export function signerFor(
  keys: ReadonlyArray<{ kid: string; algorithm: string; privateKey: unknown }>,
): Sign {
  return async (header, payload) => {
    const key = keys.find((k) => k.kid === header.kid) ?? keys[0];
    if (!key) throw new Error("no keys to sign with");
    const privateKey =
      key.privateKey instanceof KeyObject
        ? key.privateKey
        : KeyObject.from(key.privateKey as Parameters<typeof KeyObject.from>[0]);
    return compact(header, payload, privateKey, key.algorithm);
  };
}

type AttackerAlg = "ES256" | "ES384" | "RS256" | "PS256" | "EdDSA";
const ATTACKER_ALGS: AttackerAlg[] = ["ES256", "ES384", "RS256", "PS256", "EdDSA"];
let attackerKeys: Record<AttackerAlg, { privateKey: KeyObject; publicKey: KeyObject }> | undefined;

/** Keys the attacker controls (made once per process: RSA generation is slow). */
function attacker() {
  if (!attackerKeys) {
    const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
    attackerKeys = {
      ES256: generateKeyPairSync("ec", { namedCurve: "P-256" }),
      ES384: generateKeyPairSync("ec", { namedCurve: "P-384" }),
      RS256: rsa,
      PS256: rsa,
      EdDSA: generateKeyPairSync("ed25519"),
    };
  }
  return attackerKeys;
}

/** The JWS `alg` that a server JWK verifies. */
function algOf(jwk: Record<string, unknown>): string {
  if (typeof jwk.alg === "string") return jwk.alg;
  if (jwk.kty === "OKP") return "EdDSA";
  if (jwk.kty === "RSA") return "RS256";
  return "ES256";
}

/** Flips one bit of byte `position` of the decoded parts (header ‖ payload ‖ signature, in order). */
export function flipByte(token: string, position: number): { token: string; part: string; offset: number } {
  const raw = token.split(".");
  const bytes = raw.map((part) => Buffer.from(part, "base64url"));
  let offset = position;
  for (let i = 0; i < bytes.length; i++) {
    const part = bytes[i] as Buffer;
    if (offset < part.length) {
      const copy = Buffer.from(part);
      copy[offset] = (copy[offset] as number) ^ (1 << (position % 8));
      const parts = bytes.map((b, j) => b64u(j === i ? copy : b));
      return { token: parts.join("."), part: ["header", "payload", "signature"][i] as string, offset };
    }
    offset -= part.length;
  }
  throw new RangeError(`position ${position} is past the end of the token`);
}

/** How many bytes {@link flipByte} can flip in a token. */
export const flippableBytes = (token: string): number =>
  token.split(".").reduce((n, part) => n + Buffer.from(part, "base64url").length, 0);

/** Every single-bit flip of every byte of every token: about 500 per ES256 token. */
export function* everyByteFlip(tokens: string[]): Generator<Attack> {
  for (const [t, original] of tokens.entries()) {
    const n = flippableBytes(original);
    for (let position = 0; position < n; position++) {
      const { token, part, offset } = flipByte(original, position);
      yield { family: "byte flip", name: `token ${t}: ${part} byte ${offset} flipped`, token };
    }
  }
}

/**
 * Tokens every verifier must accept: without them an attack list proves nothing (a `sign` that
 * produced garbage would make every claim attack "pass"). The edges of the skew allowance are here:
 * accepted from `nbf − 5 s` until before `exp + 5 s`.
 */
export async function controlTokens(
  target: AttackTarget,
): Promise<Array<{ name: string; token: string; clockOffsetSeconds?: number }>> {
  const { header, payload } = parse(target.validToken);
  const now = Math.floor(target.now.getTime() / 1000);
  const exp = payload.exp as number;
  const nbf = (payload.nbf ?? payload.iat) as number;
  return [
    { name: "the valid token", token: target.validToken },
    { name: "the valid token re-signed unchanged", token: await target.sign(header, payload) },
    {
      name: "the valid token re-signed with aud as a string",
      token: await target.sign(header, { ...payload, aud: target.issuer }),
    },
    {
      name: `the valid token ${CLOCK_SKEW_SECONDS - 1} s after exp (inside the skew allowance)`,
      token: target.validToken,
      clockOffsetSeconds: exp - now + CLOCK_SKEW_SECONDS - 1,
    },
    {
      name: `the valid token ${CLOCK_SKEW_SECONDS} s before nbf (inside the skew allowance)`,
      token: target.validToken,
      clockOffsetSeconds: nbf - now - CLOCK_SKEW_SECONDS,
    },
  ];
}

/** Every attack on `target`; see the module comment. */
export async function attackTokens(target: AttackTarget): Promise<Attack[]> {
  const { header, payload, raw } = parse(target.validToken);
  const kid = header.kid as string;
  const serverJwk = target.jwks.keys.find((k) => k.kid === kid);
  if (!serverJwk) throw new Error("the valid token's kid is not in the JWKS");
  const serverAlg = algOf(serverJwk);
  const keys = attacker();
  const now = Math.floor(target.now.getTime() / 1000);
  const exp = payload.exp as number;
  const nbf = (payload.nbf ?? payload.iat) as number;
  const attacks: Attack[] = [];
  const add = (family: AttackFamily, name: string, token: string, extra: Partial<Attack> = {}) =>
    attacks.push({ family, name, token, ...extra });
  const withHeader = (h: Record<string, unknown>, signature = raw[2]) =>
    `${encodeJson(h)}.${raw[1]}.${signature}`;
  const forged = (alg: AttackerAlg, h: Record<string, unknown>, p = payload) =>
    compact({ ...h, alg }, p, keys[alg].privateKey, alg);
  const serverSigned = (h: Record<string, unknown>, p: Record<string, unknown>) => target.sign(h, p);
  const attackerJwk = (alg: AttackerAlg, kidValue: string) => ({
    ...(keys[alg].publicKey.export({ format: "jwk" }) as Record<string, unknown>),
    kid: kidValue,
    alg,
  });

  // alg: none, in any case, with no signature or the genuine one.
  for (const none of ["none", "None", "NONE", "nOnE"]) {
    add("alg none", `alg "${none}", empty signature`, withHeader({ ...header, alg: none }, ""));
    add("alg none", `alg "${none}", genuine signature kept`, withHeader({ ...header, alg: none }));
  }
  const { alg: _alg, ...noAlg } = header;
  add("alg none", "no alg header, genuine signature kept", withHeader(noAlg));
  add("alg none", 'alg "", empty signature', withHeader({ ...header, alg: "" }, ""));
  add(
    "alg none",
    `alg "${serverAlg.toLowerCase()}" (case changed), genuine signature kept`,
    withHeader({ ...header, alg: serverAlg.toLowerCase() }),
  );

  // HMAC keyed with the server's public key, in every encoding a confused verifier might use.
  const publicKey = createPublicKey({ key: serverJwk as never, format: "jwk" });
  const secrets: Record<string, Buffer> = {
    "its JWK as JSON": Buffer.from(JSON.stringify(serverJwk)),
    "its SPKI PEM": Buffer.from(publicKey.export({ type: "spki", format: "pem" }) as string),
    "its SPKI PEM without the final newline": Buffer.from(
      (publicKey.export({ type: "spki", format: "pem" }) as string).trimEnd(),
    ),
    "its SPKI DER": publicKey.export({ type: "spki", format: "der" }),
  };
  for (const [hs, hash] of [
    ["HS256", "sha256"],
    ["HS384", "sha384"],
    ["HS512", "sha512"],
  ] as const) {
    for (const [what, secret] of Object.entries(secrets)) {
      if (hs !== "HS256" && what !== "its SPKI PEM") continue;
      const input = `${encodeJson({ ...header, alg: hs })}.${raw[1]}`;
      add(
        "hmac with public key",
        `${hs} keyed with ${what}`,
        `${input}.${b64u(createHmac(hash, secret).update(input).digest())}`,
      );
    }
  }

  // Another algorithm under the server's kid (RS↔ES↔EdDSA), signed with the attacker's key.
  for (const alg of ATTACKER_ALGS) {
    if (alg === serverAlg) continue;
    add("algorithm swap", `${alg} under the server's ${serverAlg} kid`, forged(alg, header));
  }
  // The right algorithm and kid, but the attacker's key.
  const sameAlg = (ATTACKER_ALGS as string[]).includes(serverAlg) ? (serverAlg as AttackerAlg) : "ES256";
  add("foreign key", `${sameAlg} signed by another key under the server's kid`, forged(sameAlg, header));
  const flips = target.flipTokens ?? [target.validToken];
  const other = flips.find((t) => t !== target.validToken);
  if (other) {
    const spliced = parse(other).raw;
    add("foreign key", "the signature of another genuine token", `${raw[0]}.${raw[1]}.${spliced[2]}`);
    add("foreign key", "the payload of another genuine token", `${raw[0]}.${spliced[1]}.${raw[2]}`);
  }

  // kid: unknown, missing, injected, huge, not a string — all signed by the server's active key.
  const kids: Record<string, unknown> = {
    "an unknown kid": "k" + "0".repeat(15),
    "kid with path traversal": "../../../../etc/passwd",
    "kid as an absolute path": "/dev/null",
    "kid with SQL injection": "' OR '1'='1",
    "the server's kid with SQL appended": `${kid}' OR '1'='1' --`,
    "kid with a statement injection": `x'; DROP TABLE signing_keys; --`,
    "the server's kid with a NUL appended": `${kid}\u0000`,
    "the server's kid with a space appended": `${kid} `,
    "the server's kid upper-cased": kid.toUpperCase() === kid ? kid.toLowerCase() : kid.toUpperCase(),
    "an 8 KB kid": "A".repeat(8192),
    "an 8 KB kid starting with the server's kid": kid + "A".repeat(8192 - kid.length),
    "kid as a number": 0,
    "kid null": null,
    "kid as an array holding the server's kid": [kid],
    "kid as an object": { $ne: null },
    "kid as a URL": `${target.trapUrl}/kid`,
  };
  for (const [what, value] of Object.entries(kids))
    add("kid", what, await serverSigned({ ...header, kid: value }, payload));
  const { kid: _kid, ...noKid } = header;
  add("kid", "no kid", await serverSigned(noKid, payload));

  // Key URLs and embedded keys: never fetched, never trusted.
  const alg = sameAlg;
  const jku = `${target.trapUrl}/jwks.json`;
  add(
    "key url or embedded key",
    "jku to the attacker's JWKS, attacker's kid",
    forged(alg, { ...header, kid: "attacker", jku }),
  );
  add(
    "key url or embedded key",
    "jku to the attacker's JWKS, the server's kid",
    forged(alg, { ...header, jku }),
  );
  add(
    "key url or embedded key",
    "jku to an unresolvable host",
    forged(alg, { ...header, kid: "attacker", jku: "https://attacker.invalid/jwks.json" }),
  );
  add(
    "key url or embedded key",
    "x5u to the attacker's certificate",
    forged(alg, { ...header, kid: "attacker", x5u: `${target.trapUrl}/cert.pem` }),
  );
  add(
    "key url or embedded key",
    "x5u with the server's kid",
    forged(alg, { ...header, x5u: `${target.trapUrl}/cert.pem` }),
  );
  add(
    "key url or embedded key",
    "the attacker's key embedded as jwk, attacker's kid",
    forged(alg, { ...header, kid: "attacker", jwk: attackerJwk(alg, "attacker") }),
  );
  add(
    "key url or embedded key",
    "the attacker's key embedded as jwk, the server's kid",
    forged(alg, { ...header, jwk: attackerJwk(alg, kid) }),
  );
  add(
    "key url or embedded key",
    "an x5c chain",
    forged(alg, { ...header, kid: "attacker", x5c: [Buffer.from("not a certificate").toString("base64")] }),
  );
  // Genuinely signed by the server, but with a header Latchkey never writes: refused all the same.
  add(
    "key url or embedded key",
    "server-signed with a jku header added",
    await serverSigned({ ...header, jku }, payload),
  );
  add(
    "key url or embedded key",
    "server-signed with an x5u header added",
    await serverSigned({ ...header, x5u: `${target.trapUrl}/cert.pem` }, payload),
  );
  add(
    "key url or embedded key",
    "server-signed with its own public key embedded as jwk",
    await serverSigned({ ...header, jwk: serverJwk }, payload),
  );
  add(
    "key url or embedded key",
    "server-signed with a crit header",
    await serverSigned({ ...header, crit: ["x-latchkey"], "x-latchkey": true }, payload),
  );

  // typ: only at+jwt (RFC 9068) is an access token.
  for (const typ of ["JWT", "jwt", "at+jwt ", "dpop+jwt", "secevent+jwt", "application/jwt", ""]) {
    add("typ", `typ ${JSON.stringify(typ)}`, await serverSigned({ ...header, typ }, payload));
  }
  const { typ: _typ, ...noTyp } = header;
  add("typ", "no typ", await serverSigned(noTyp, payload));

  // iss: exact match only.
  const url = new URL(target.issuer);
  const issuers: Record<string, unknown> = {
    "iss with a trailing slash": `${target.issuer}/`,
    "iss upper-cased": target.issuer.toUpperCase(),
    "iss with its host upper-cased": target.issuer.replace(url.hostname, url.hostname.toUpperCase()),
    "iss with https for http": target.issuer.replace(/^http:/, "https:"),
    "iss on another port": `${url.protocol}//${url.hostname}:${Number(url.port || 80) + 1}`,
    "iss with a path": `${target.issuer}/evil`,
    "iss of another server": "https://evil.example",
    "iss empty": "",
    "iss as an array": [target.issuer],
  };
  for (const [what, iss] of Object.entries(issuers)) {
    // An IP address has no case to change: skip what would be the issuer itself.
    if (iss !== target.issuer) add("iss", what, await serverSigned(header, { ...payload, iss }));
  }
  const { iss: _iss, ...noIss } = payload;
  add("iss", "no iss", await serverSigned(header, noIss));

  // aud: missing or malformed is refused everywhere; someone else's audience wherever ours is expected.
  const { aud: _aud, ...noAud } = payload;
  add("aud", "no aud", await serverSigned(header, noAud));
  add("aud", "aud []", await serverSigned(header, { ...payload, aud: [] }));
  add("aud", "aud null", await serverSigned(header, { ...payload, aud: null }));
  add("aud", "aud as a number", await serverSigned(header, { ...payload, aud: 5 }));
  add("aud", "aud as an object", await serverSigned(header, { ...payload, aud: { [target.issuer]: true } }));
  add("aud", "aud [42]", await serverSigned(header, { ...payload, aud: [42] }));
  for (const [what, aud] of Object.entries({
    "aud another service": "https://evil.example",
    "aud [another service]": ["https://evil.example"],
    "aud the issuer with a trailing slash": [`${target.issuer}/`],
    "aud the issuer upper-cased": [target.issuer.toUpperCase()],
  })) {
    if (JSON.stringify(aud) === JSON.stringify([target.issuer])) continue;
    add("aud", what, await serverSigned(header, { ...payload, aud }), { audienceOnly: true });
  }

  // Time, at the skew bound: the genuine token just outside its window, and forged times.
  const skew = CLOCK_SKEW_SECONDS;
  add("time", `the valid token ${skew} s after exp`, target.validToken, {
    clockOffsetSeconds: exp - now + skew,
  });
  add("time", `the valid token ${skew + 1} s after exp`, target.validToken, {
    clockOffsetSeconds: exp - now + skew + 1,
  });
  add("time", `the valid token ${skew + 1} s before nbf`, target.validToken, {
    clockOffsetSeconds: nbf - now - skew - 1,
  });
  add("time", `exp ${skew} s ago`, await serverSigned(header, { ...payload, exp: now - skew }));
  add("time", `exp ${skew + 1} s ago`, await serverSigned(header, { ...payload, exp: now - skew - 1 }));
  add(
    "time",
    "exp an hour ago",
    await serverSigned(header, { ...payload, iat: now - 7200, nbf: now - 7200, exp: now - 3600 }),
  );
  add("time", `nbf ${skew + 1} s ahead`, await serverSigned(header, { ...payload, nbf: now + skew + 1 }));
  add(
    "time",
    "nbf a day ahead",
    await serverSigned(header, { ...payload, nbf: now + 86400, exp: now + 90000 }),
  );
  const { exp: _exp, ...noExp } = payload;
  add("time", "no exp", await serverSigned(header, noExp));
  add("time", "exp as a string", await serverSigned(header, { ...payload, exp: String(exp) }));
  add(
    "time",
    "nbf as a string in the future",
    await serverSigned(header, { ...payload, nbf: String(now + 3600) }),
  );

  // Structure.
  add("structure", "empty string", "");
  add("structure", "header and payload only", `${raw[0]}.${raw[1]}`);
  add("structure", "header, payload and a dot", `${raw[0]}.${raw[1]}.`);
  add("structure", "four parts", `${target.validToken}.${raw[2]}`);
  add("structure", "five parts (JWE-shaped)", `${raw[0]}.${raw[1]}.${raw[2]}.${raw[2]}.${raw[2]}`);
  add(
    "structure",
    "signature in base64 with padding",
    `${raw[0]}.${raw[1]}.${Buffer.from(raw[2], "base64url").toString("base64")}`,
  );
  add("structure", "header not JSON", `${b64u("not json")}.${raw[1]}.${raw[2]}`);
  add("structure", "payload not JSON", `${raw[0]}.${b64u("not json")}.${raw[2]}`);
  add("structure", "payload a JSON array, server-signed", await target.sign(header, [payload] as never));
  add(
    "structure",
    "JWS JSON serialization",
    JSON.stringify({ protected: raw[0], payload: raw[1], signature: raw[2] }),
  );

  // Every byte position of header, payload and signature, spread over the flip tokens.
  for (const [t, original] of flips.entries()) {
    const n = flippableBytes(original);
    for (let position = t; position < n; position += flips.length) {
      const flipped = flipByte(original, position);
      add("byte flip", `token ${t}: ${flipped.part} byte ${flipped.offset} flipped`, flipped.token);
    }
  }

  // A key retired longer ago than its tokens can live: a fresh token it signs is refused.
  if (target.retiredKid) {
    add(
      "retired key",
      "fresh claims signed by a key past its retirement",
      await serverSigned({ ...header, kid: target.retiredKid }, payload),
    );
  }

  const names = new Set<string>();
  for (const attack of attacks) {
    if (names.has(attack.name)) throw new Error(`duplicate attack name: ${attack.name}`);
    names.add(attack.name);
  }
  return attacks;
}

/** An HTTP server that counts every connection made to it: put its URL where nothing may be fetched. */
export async function startTrap(): Promise<{
  url: string;
  connections: () => number;
  close: () => Promise<void>;
}> {
  const { createServer } = await import("node:http");
  let connections = 0;
  const server = createServer((_request, response) => response.writeHead(404).end());
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The HTTP suite's PostgreSQL run: the server's own store connections are not a verifier's. */
const STORE_PORT = process.env.LATCHKEY_TEST_DATABASE_URL
  ? Number(new URL(process.env.LATCHKEY_TEST_DATABASE_URL).port || 5432)
  : undefined;

/**
 * Records every outbound TCP connection this process attempts (net.Socket#connect, which `fetch`,
 * `http` and `https` all go through) until `stop()`. `others(allowedPort)` lists the attempts to any
 * other port, as `host:port` (a path for IPC sockets).
 */
export function watchConnections(): { others: (allowedPort: number) => string[]; stop: () => void } {
  const seen: Array<{ host: string; port: number | string }> = [];
  const original = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function (this: net.Socket, ...args: unknown[]) {
    const [first, second] = args;
    if (typeof first === "object" && first !== null && !Array.isArray(first)) {
      const o = first as { host?: string; port?: number | string; path?: string };
      seen.push({ host: o.host ?? "localhost", port: o.path ?? o.port ?? "?" });
    } else if (Array.isArray(first)) {
      const o = (first[0] ?? {}) as { host?: string; port?: number | string; path?: string };
      seen.push({ host: o.host ?? "localhost", port: o.path ?? o.port ?? "?" });
    } else {
      seen.push({ host: typeof second === "string" ? second : "localhost", port: first as number | string });
    }
    return (original as (...a: unknown[]) => net.Socket).apply(this, args);
  } as typeof original;
  return {
    others: (allowedPort) =>
      seen
        .filter((c) => Number(c.port) !== allowedPort && Number(c.port) !== STORE_PORT)
        .map((c) => `${c.host}:${c.port}`),
    stop: () => {
      net.Socket.prototype.connect = original;
    },
  };
}
