import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, type TestServer } from "../helpers/server.ts";

describe("a fresh server", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server.close());

  it("knows the bootstrap owner", async () => {
    const res = await server.api("GET", "/v1/whoami");
    expect(res.status).toBe(200);
    expect(res.body.service_account).toMatchObject({
      name: "bootstrap",
      project: "default",
      role: "owner",
      scope: "organization",
    });
    expect(res.body.effective_role).toBe("owner");
  });
});
