/** The peer's one client and its two resource servers (shared by bench/peer-server.ts and bench/run.ts). */
export const PEER_CLIENT = { id: "bench-client", secret: "bench-client-secret-0123456789abcdefghij" };
export const PEER_OPAQUE_RESOURCE = "urn:bench:opaque";
export const PEER_JWT_RESOURCE = "urn:bench:jwt";
