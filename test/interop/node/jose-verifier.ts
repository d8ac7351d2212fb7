/**
 * Verifying a Latchkey JWT in Node.js with `jose` (npm), as a relying service would: discovery, then
 * the JWKS it names. docs/verifying-tokens.md quotes the part between the snippet markers.
 */
// snippet:start
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

/** Make one per process and reuse it: the JWKS is cached and refetched for an unknown kid. */
export async function latchkeyVerifier(issuer: string, audience: string) {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  const metadata = (await response.json()) as { issuer: string; jwks_uri: string };
  if (metadata.issuer !== issuer) throw new Error(`discovery names issuer ${metadata.issuer}`);
  const jwks = createRemoteJWKSet(new URL(metadata.jwks_uri));
  return async (token: string): Promise<JWTPayload> => {
    const { payload } = await jwtVerify(token, jwks, {
      issuer,
      audience,
      typ: "at+jwt", // RFC 9068 access tokens
      algorithms: ["ES256", "EdDSA", "RS256"], // and each key only with its own "alg"
      clockTolerance: 5,
      requiredClaims: ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"],
    });
    return payload;
  };
}
// snippet:end
