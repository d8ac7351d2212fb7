import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { Problem } from "../../src/http/schemas.ts";
import { errorCodes } from "../../src/lib/errors.ts";

/** docs/errors.md and the registry in src/lib/errors.ts list the same codes with the same statuses. */

const markdown = readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");

/** `## heading` → the text up to the next `## ` heading; fenced code blocks are skipped. */
function sections(text: string): Array<{ heading: string; body: string }> {
  const out: Array<{ heading: string; body: string }> = [];
  let fenced = false;
  for (const line of text.split("\n")) {
    if (line.startsWith("```")) fenced = !fenced;
    const heading = !fenced && /^## (.*)$/.exec(line);
    if (heading) out.push({ heading: heading[1]!.trim(), body: "" });
    else if (out.length > 0) out[out.length - 1]!.body += `${line}\n`;
  }
  return out;
}

const documented = sections(markdown);
const registry = Object.entries(errorCodes);

describe("docs/errors.md", () => {
  it("has one `## code` section per registered code, and no other", () => {
    const headings = documented.map((s) => s.heading);
    expect(new Set(headings).size, "no code is documented twice").toBe(headings.length);
    const codes = Object.keys(errorCodes);
    // missing: in src/lib/errors.ts but not documented; extra: documented but not a registered code.
    expect({
      missing: codes.filter((c) => !headings.includes(c)),
      extra: headings.filter((h) => !codes.includes(h)),
    }).toEqual({ missing: [], extra: [] });
  });

  it.each(registry)("%s states its HTTP status, when it happens and what to do", (code, { status }) => {
    const section = documented.find((s) => s.heading === code);
    expect(section, `## ${code}`).toBeDefined();
    const statuses = [...section!.body.matchAll(/\*\*HTTP status:\*\*\s*(\d{3})\b/g)].map((m) =>
      Number(m[1]),
    );
    expect(statuses, `## ${code} states exactly one HTTP status`).toEqual([status]);
    expect(section!.body).toMatch(/\*\*When:\*\*\s*\S/);
    expect(section!.body).toMatch(/\*\*What to do:\*\*\s*\S/);
  });

  it("describes every member of the problem document", () => {
    const intro = markdown.slice(0, markdown.indexOf("\n## "));
    expect(intro).toContain("application/problem+json");
    // `instance` is in the schema for RFC 9457 completeness but never sent.
    const members = Object.keys(Problem.properties).filter((m) => m !== "instance");
    expect(members).toEqual(
      expect.arrayContaining(["type", "title", "status", "detail", "code", "request_id", "errors"]),
    );
    for (const member of members)
      expect(intro, member).toMatch(new RegExp(`^\\|\\s*\`${member}\`\\s*\\|`, "m"));
  });
});
