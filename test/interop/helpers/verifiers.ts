import { join } from "node:path";
import { latchkeyVerifier } from "../node/jose-verifier.ts";
import { INTEROP_DIR, installed, output } from "./tools.ts";

/** What a third-party verifier answered: the claims it accepted, or why it refused (in its words). */
export type Verdict = { ok: true; claims: Record<string, any> } | { ok: false; error: string };

export type Verify = (token: string, issuer: string, audience: string) => Promise<Verdict>;

/** How each refusal reads in this verifier's own words (its exception class or message). */
export interface Refusals {
  audience: RegExp;
  issuer: RegExp;
  unknownKey: RegExp;
  badSignature: RegExp;
  algNone: RegExp;
  /** A token of a retired key that is no longer published. */
  droppedKey: RegExp;
}

export interface Verifier {
  name: string;
  /** Installs the client on the first run (cached after) and returns how to ask it. */
  setup(): Promise<Verify>;
  refusals: Refusals;
}

const fromJson = (out: any, error: () => string): Verdict =>
  out.ok ? { ok: true, claims: out.claims } : { ok: false, error: error() };

/**
 * PyJWT's PyJWKClient (pinned in python/requirements.txt, installed into a virtualenv outside the
 * repository) through python/verify.py: discovery, the JWKS by kid, issuer, audience, typ at+jwt,
 * and only the algorithm of the key the kid names.
 */
export const pyjwt: Verifier = {
  name: "PyJWT",
  setup: async () => {
    const python = await installed("pyjwt");
    const script = join(INTEROP_DIR, "python", "verify.py");
    return async (token, issuer, audience) => {
      const out = JSON.parse(
        await output(python, ["-B", script, "--issuer", issuer, "--audience", audience, token]),
      );
      return fromJson(out, () => `${out.error}: ${out.message}`);
    };
  },
  refusals: {
    audience: /^InvalidAudienceError/,
    issuer: /^InvalidIssuerError: discovery names issuer/,
    unknownKey: /^PyJWKClientError: Unable to find a signing key that matches/,
    badSignature: /^InvalidSignatureError/,
    algNone: /^InvalidAlgorithmError/,
    droppedKey: /^PyJWKClientError: Unable to find a signing key that matches/,
  },
};

/**
 * github.com/coreos/go-oidc/v3, which kube-apiserver's OIDC authenticator is built on, in
 * go-oidc/main.go: oidc.NewProvider (discovery, whose issuer must equal the URL it was given), then
 * provider.Verifier(&oidc.Config{ClientID: audience}).Verify. No SupportedSigningAlgs: go-oidc then
 * accepts exactly the algorithms discovery advertises, so they must cover every published key.
 */
export const goOidc: Verifier = {
  name: "go-oidc",
  setup: async () => {
    const binary = await installed("go-oidc");
    return async (token, issuer, audience) => {
      const out = JSON.parse(await output(binary, ["-issuer", issuer, "-audience", audience, token]));
      return fromJson(out, () => `${out.stage}: ${out.error}`);
    };
  },
  refusals: {
    audience: /^verify: oidc: expected audience "https:\/\/billing\.example\.com"/,
    issuer: /^discovery: oidc: issuer URL provided to client \(".*\/"\) did not match/,
    unknownKey: /^verify: failed to verify signature: failed to verify id token signature/,
    badSignature: /^verify: failed to verify signature: failed to verify id token signature/,
    algNone: /^verify: oidc: malformed jwt: unexpected signature algorithm "none"/,
    // Once no ES256 key is published, discovery no longer lists ES256, so go-oidc refuses it outright.
    droppedKey: /^verify: oidc: malformed jwt: unexpected signature algorithm "ES256"; expected \["RS256"\]/,
  },
};

/** `jose` (npm) with createRemoteJWKSet, in node/jose-verifier.ts. */
export const jose: Verifier = {
  name: "jose",
  setup: async () => async (token, issuer, audience) => {
    try {
      const verify = await latchkeyVerifier(issuer, audience);
      return { ok: true, claims: await verify(token) };
    } catch (error: any) {
      return { ok: false, error: `${error?.code ?? error?.name}: ${error?.message}` };
    }
  },
  refusals: {
    audience: /^ERR_JWT_CLAIM_VALIDATION_FAILED: unexpected "aud" claim value/,
    issuer: /^Error: discovery names issuer/,
    unknownKey: /^ERR_JWKS_NO_MATCHING_KEY/,
    badSignature: /^ERR_JWS_SIGNATURE_VERIFICATION_FAILED/,
    algNone: /^ERR_JOSE_ALG_NOT_ALLOWED/,
    droppedKey: /^ERR_JWKS_NO_MATCHING_KEY/,
  },
};
