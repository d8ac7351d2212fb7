import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as sdk from "@latchkey/sdk";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const root = fileURLToPath(new URL("../../", import.meta.url));
const entries = ["src/index.ts", "src/middleware/fastify.ts", "src/middleware/express.ts"].map(
  (entry) => `${root}packages/sdk/${entry}`,
);

/** Every export of the package's entry points, with the TSDoc of its declaration. */
function publicApi() {
  const program = ts.createProgram(entries, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    allowImportingTsExtensions: true,
    noEmit: true,
    skipLibCheck: true,
  });
  const checker = program.getTypeChecker();
  const found: { entry: string; name: string; value: boolean; docs: string; tags: string[] }[] = [];
  for (const entry of entries) {
    const file = program.getSourceFile(entry);
    const module = file && checker.getSymbolAtLocation(file);
    if (!module) throw new Error(`cannot read ${entry}`);
    for (const exported of checker.getExportsOfModule(module)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const declaration = symbol.declarations?.[0];
      // A declaration's TSDoc: for `export const x = …` it sits on the statement.
      const holder =
        declaration && ts.isVariableDeclaration(declaration) ? declaration.parent.parent : declaration;
      const docs = holder
        ? ts
            .getJSDocCommentsAndTags(holder)
            .map((d) => d.getText())
            .join("\n")
        : "";
      found.push({
        entry: entry.slice(root.length),
        name: exported.name,
        value: (symbol.flags & ts.SymbolFlags.Value) !== 0,
        docs,
        tags: holder ? ts.getJSDocTags(holder).map((t) => t.tagName.text) : [],
      });
    }
  }
  return found;
}

describe("the public API", () => {
  const api = publicApi();

  it("has a TSDoc comment with an @example on every function, class and constant", () => {
    const values = api.filter((e) => e.value);
    expect(values.length).toBeGreaterThan(30);
    expect(values.filter((e) => !e.tags.includes("example")).map((e) => `${e.entry}: ${e.name}`)).toEqual([]);
  });

  it("has a TSDoc comment on every type", () => {
    const types = api.filter((e) => !e.value);
    expect(types.filter((e) => !e.docs).map((e) => `${e.entry}: ${e.name}`)).toEqual([]);
  });

  it("gives every error class its own stable code, listed in docs/sdk.md", () => {
    const docs = readFileSync(`${root}docs/sdk.md`, "utf8");
    const errors = Object.values(sdk).filter(
      (v): v is typeof sdk.LatchkeyError => typeof v === "function" && v.prototype instanceof Error,
    );
    expect(errors.length).toBeGreaterThan(20);
    const codes = errors.map((e) => e.code);
    expect(new Set(codes).size).toBe(codes.length);
    expect(codes.filter((code) => !docs.includes(`\`${code}\``))).toEqual([]);
    for (const error of errors) {
      if ((error as unknown) === sdk.LatchkeyApiError) continue; // its instances carry the server's codes
      const instance = new (error as unknown as new (m: string) => sdk.LatchkeyError)("m");
      expect(instance.code, error.name).toBe(error.code);
      expect(instance.name).toBe(error.name);
      expect(instance).toBeInstanceOf(sdk.LatchkeyError);
    }
  });
});
