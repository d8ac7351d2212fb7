"""Verifies a Latchkey JWT with PyJWT, as a Python relying service would.

    python verify.py --issuer http://127.0.0.1:8080 --audience https://api.example.com TOKEN

Prints one JSON object: {"ok": true, "claims": {...}, "alg": ..., "kid": ...} or
{"ok": false, "error": "<exception class>", "message": "..."}; exits 0 either way (2 on bad usage).
"""

import argparse
import json
import sys
import urllib.request

import jwt

# snippet:start
ALGORITHMS = ["ES256", "EdDSA", "RS256"]  # what Latchkey signs with; never "none" or HS*


class LatchkeyVerifier:
    """Make one per process and reuse it: it caches the JWKS (refetched for an unknown kid)."""

    def __init__(self, issuer: str, audience: str):
        self.issuer, self.audience = issuer, audience
        # Discovery; its "issuer" must be exactly the issuer this service trusts.
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        with urllib.request.urlopen(url, timeout=10) as response:
            metadata = json.load(response)
        if metadata.get("issuer") != issuer:
            raise jwt.InvalidIssuerError(f"discovery names issuer {metadata.get('issuer')!r}")
        self.jwks = jwt.PyJWKClient(metadata["jwks_uri"], cache_keys=True, lifespan=60, timeout=10)

    def verify(self, token: str) -> dict:
        # RFC 9068: an access token says so in its header.
        if jwt.get_unverified_header(token).get("typ") not in ("at+jwt", "application/at+jwt"):
            raise jwt.InvalidTokenError("not an RFC 9068 access token (typ)")
        signing_key = self.jwks.get_signing_key_from_jwt(token)  # by kid
        if signing_key.algorithm_name not in ALGORITHMS:
            raise jwt.InvalidAlgorithmError(signing_key.algorithm_name)
        return jwt.decode(
            token,
            signing_key,
            algorithms=[signing_key.algorithm_name],  # only the algorithm of the key the kid names
            audience=self.audience,
            issuer=self.issuer,
            leeway=5,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "nbf", "jti"]},
        )


# snippet:end


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--audience", required=True)
    parser.add_argument("token")
    args = parser.parse_args()
    try:
        claims = LatchkeyVerifier(args.issuer, args.audience).verify(args.token)
    except Exception as error:  # every failure is an answer, printed for the test to read
        print(json.dumps({"ok": False, "error": type(error).__name__, "message": str(error)}))
        return 0
    header = jwt.get_unverified_header(args.token)
    result = {"ok": True, "claims": claims, "alg": header.get("alg"), "kid": header.get("kid")}
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
