// oidc-provider ships no type declarations; the peer server uses a small part of it.
declare module "oidc-provider" {
  import type { IncomingMessage, ServerResponse } from "node:http";

  const Provider: new (
    issuer: string,
    configuration: object,
  ) => {
    callback(): (req: IncomingMessage, res: ServerResponse) => void;
    on(event: string, listener: (...args: never[]) => void): void;
  };
  export default Provider;
}
