import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../src/lib/clock.ts";
import { startServer, type TestServer } from "../../helpers/server.ts";

interface Item {
  id: string;
  name: string;
  state: string;
}

describe("a service account's token list", () => {
  const clock = new ManualClock("2030-03-01T00:00:00.000Z");
  const path = "/v1/projects/default/service-accounts/walked/tokens";
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer({ clock });
    await server.api("POST", "/v1/projects/default/service-accounts", { body: { name: "walked" } });
    // Names x and y, some expiring in 600 s, some revoked, two created in the same millisecond.
    for (let i = 0; i < 12; i++) {
      const res = await server.api("POST", path, {
        body: {
          name: i % 2 === 0 ? "x" : "y",
          ...(i % 3 === 0 ? { ttl_seconds: 600 } : {}),
          ...(i === 4 ? { format: "jwt", audiences: ["https://api.example"], labels: { team: "a" } } : {}),
        },
      });
      expect(res.status).toBe(201);
      if (i === 2 || i % 4 === 1)
        expect((await server.api("DELETE", `/v1/tokens/${res.body.id}`)).status).toBe(204);
      if (i !== 6) clock.advance(1);
    }
    clock.advance(600);
  });
  afterAll(() => server.close());

  const page = async (query: string) => {
    const res = await server.api("GET", `${path}?${query}`);
    expect(res.status).toBe(200);
    return res.body as { items: Item[]; next_cursor: string | null };
  };
  const walk = async (query: string, limit: number) => {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await page(
        `${query}&limit=${limit}${cursor === null ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
      );
      expect(res.items.length).toBeLessThanOrEqual(limit);
      ids.push(...res.items.map((t) => t.id));
      cursor = res.next_cursor;
    } while (cursor !== null);
    return ids;
  };

  it("shows each token as GET /v1/tokens/{id} does", async () => {
    const all = (await page("limit=500")).items;
    expect(all).toHaveLength(12);
    expect(new Set(all.map((t) => t.state))).toEqual(new Set(["active", "expired", "revoked"]));
    for (const item of all) expect(item).toEqual((await server.api("GET", `/v1/tokens/${item.id}`)).body);
  });

  it("every filter, walked by cursor at any page size, gives the filtered list, oldest first", async () => {
    const all = (await page("limit=500")).items;
    for (const state of [undefined, "active", "expired", "revoked"]) {
      for (const name of [undefined, "x", "nobody"]) {
        const query = [state && `state=${state}`, name && `name=${name}`].filter(Boolean).join("&");
        const expected = all
          .filter(
            (t) => (state === undefined || t.state === state) && (name === undefined || t.name === name),
          )
          .map((t) => t.id);
        if (name !== "nobody") expect(expected.length).toBeGreaterThan(0);
        expect((await page(`${query}&limit=500`)).items.map((t) => t.id)).toEqual(expected);
        for (const limit of [1, 2, 5])
          expect(await walk(query, limit), `${query} limit ${limit}`).toEqual(expected);
      }
    }
  });
});
