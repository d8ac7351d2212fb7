/**
 * Every route the admin client calls, once. The client builds each request from this table, and a
 * test checks the table against the server's OpenAPI document, so the two cannot drift apart unseen.
 *
 * @example
 *
 * ```ts
 * const [method, path] = ADMIN_ROUTES["tokens.rotate"]; // ["POST", "/v1/tokens/{id}/rotate"]
 * ```
 */
export const ADMIN_ROUTES = {
  whoami: ["GET", "/v1/whoami"],
  "projects.list": ["GET", "/v1/projects"],
  "projects.create": ["POST", "/v1/projects"],
  "projects.get": ["GET", "/v1/projects/{project}"],
  "projects.update": ["PATCH", "/v1/projects/{project}"],
  "projects.delete": ["DELETE", "/v1/projects/{project}"],
  "serviceAccounts.list": ["GET", "/v1/projects/{project}/service-accounts"],
  "serviceAccounts.create": ["POST", "/v1/projects/{project}/service-accounts"],
  "serviceAccounts.get": ["GET", "/v1/projects/{project}/service-accounts/{name}"],
  "serviceAccounts.update": ["PATCH", "/v1/projects/{project}/service-accounts/{name}"],
  "serviceAccounts.delete": ["DELETE", "/v1/projects/{project}/service-accounts/{name}"],
  "tokens.listAll": ["GET", "/v1/tokens"],
  "tokens.list": ["GET", "/v1/projects/{project}/service-accounts/{name}/tokens"],
  "tokens.create": ["POST", "/v1/projects/{project}/service-accounts/{name}/tokens"],
  "tokens.get": ["GET", "/v1/tokens/{id}"],
  "tokens.update": ["PATCH", "/v1/tokens/{id}"],
  "tokens.revoke": ["DELETE", "/v1/tokens/{id}"],
  "tokens.rotate": ["POST", "/v1/tokens/{id}/rotate"],
  "tokens.rotateSelf": ["POST", "/v1/tokens/self/rotate"],
  "tokens.revokeSelf": ["DELETE", "/v1/tokens/self"],
  "tokenRequests.create": ["POST", "/v1/projects/{project}/service-accounts/{name}/token-requests"],
  "boundObjects.put": ["PUT", "/v1/projects/{project}/bound-objects/{kind}/{name}"],
  "boundObjects.delete": ["DELETE", "/v1/projects/{project}/bound-objects/{kind}/{name}"],
  "auditEvents.list": ["GET", "/v1/audit-events"],
  "auditEvents.verify": ["GET", "/v1/audit-events"],
  "signingKeys.list": ["GET", "/v1/signing-keys"],
  "signingKeys.rotate": ["POST", "/v1/signing-keys/rotate"],
} as const satisfies Record<string, readonly ["GET" | "POST" | "PUT" | "PATCH" | "DELETE", string]>;

/** The name of a route of {@link ADMIN_ROUTES}, e.g. `tokens.rotate`. */
export type AdminRoute = keyof typeof ADMIN_ROUTES;

/** The path with its `{params}` filled in, each percent-encoded. */
export function pathOf(route: AdminRoute, params: Record<string, string> = {}): string {
  return ADMIN_ROUTES[route][1].replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (typeof value !== "string" || value === "") throw new TypeError(`${name} is required`);
    // fetch would resolve a "." or ".." segment away, and call another route.
    if (value === "." || value === "..") throw new TypeError(`${name} may not be ${value}`);
    return encodeURIComponent(value);
  });
}
