/**
 * The peer: panva's oidc-provider (the certified OpenID provider for Node) with one client and the
 * client_credentials grant, issuing opaque tokens (resource urn:bench:opaque) or ES256 JWTs
 * (resource urn:bench:jwt), and RFC 7662 introspection. Its default in-memory adapter: it stores
 * nothing durable. Prints its port on stdout.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair } from "jose";
import Provider from "oidc-provider";

import { PEER_CLIENT, PEER_JWT_RESOURCE, PEER_OPAQUE_RESOURCE } from "./peer-config.ts";

async function main() {
  const { privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: "peer-es256", alg: "ES256", use: "sig" };
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(Number(process.env.PORT ?? 0), "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: PEER_CLIENT.id,
        client_secret: PEER_CLIENT.secret,
        grant_types: ["client_credentials"],
        redirect_uris: [],
        response_types: [],
        token_endpoint_auth_method: "client_secret_basic",
        id_token_signed_response_alg: "ES256",
      },
    ],
    jwks: { keys: [jwk] },
    scopes: ["api"],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => PEER_OPAQUE_RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx: unknown, resource: string) => {
          if (resource === PEER_JWT_RESOURCE) {
            return {
              scope: "api",
              audience: PEER_JWT_RESOURCE,
              accessTokenTTL: 3600,
              accessTokenFormat: "jwt",
              jwt: { sign: { alg: "ES256" } },
            };
          }
          if (resource === PEER_OPAQUE_RESOURCE) {
            return {
              scope: "api",
              audience: PEER_OPAQUE_RESOURCE,
              accessTokenTTL: 3600,
              accessTokenFormat: "opaque",
            };
          }
          throw new Error(`unknown resource ${resource}`);
        },
      },
    },
  });
  provider.on("server_error", (_ctx: unknown, error: Error) =>
    process.stderr.write(`peer error: ${error.message}\n`),
  );
  server.on("request", provider.callback());
  process.stdout.write(`LISTENING ${port}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

await main();
