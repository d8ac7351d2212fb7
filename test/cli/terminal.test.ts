import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliWorld, cliLine, hasCommand, startWorld, Tmux } from "./helpers.ts";

/** A colour or attribute escape sequence. */
const SGR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`);

// .ci/run installs tmux; a developer without it gets these skipped, CI never does.
const tmuxMissing = !hasCommand("tmux");
if (tmuxMissing && process.env.CI) throw new Error("tmux is required in CI (.ci/run installs it)");

/** The CLI on a real terminal (tmux): confirmation prompts, hidden token input, colours. */
describe.skipIf(tmuxMissing)("latchkey on a terminal", { timeout: 180_000 }, () => {
  let w: CliWorld;
  let tmux: Tmux;
  let termEnv: Record<string, string>;

  beforeAll(async () => {
    w = await startWorld();
    tmux = new Tmux();
    // Empty values neutralise whatever the tmux server inherited from the shell that runs the tests.
    termEnv = { ...w.env, NO_COLOR: "", LATCHKEY_PROFILE: "" };
    await w.run(["sa", "create", "victim", "--role", "viewer"]);
    await w.run(["sa", "create", "keeper", "--role", "viewer"]);
  });
  afterAll(async () => {
    tmux?.close();
    await w?.close();
  });

  it("asks before deleting a service account, and deletes it on y", async () => {
    const s = tmux.start(cliLine(["sa", "delete", "victim"]), termEnv);
    const prompt = await tmux.waitFor(s, /\[y\/N\]/);
    expect(prompt).toContain(
      "Delete service account victim@default.serviceaccounts.latchkey? Its 0 active token(s) stop working at once. [y/N]",
    );
    tmux.keys(s, "y", "Enter");
    const done = await tmux.waitFor(s, /\[exit \d+\]/);
    expect(done).toContain(
      "Deleted service account victim@default.serviceaccounts.latchkey; its tokens are revoked.",
    );
    expect(done).toContain("[exit 0]");
    expect((await w.run(["sa", "get", "victim"])).code).toBe(4);
  });

  it("changes nothing when the answer is n, or just Enter", async () => {
    const token = (await w.run(["token", "create", "--sa", "keeper", "--name", "k", "--json"])).json();
    const s1 = tmux.start(cliLine(["token", "revoke", token.id]), termEnv);
    expect(await tmux.waitFor(s1, /\[y\/N\]/)).toContain(
      `Revoke token k (${token.id}) of keeper@default.serviceaccounts.latchkey? It stops working at once. [y/N]`,
    );
    tmux.keys(s1, "n", "Enter");
    const refused = await tmux.waitFor(s1, /\[exit \d+\]/);
    expect(refused).toContain("latchkey: aborted: nothing was changed (aborted)");
    expect(refused).toContain("[exit 1]");

    const s2 = tmux.start(cliLine(["sa", "delete", "keeper"]), termEnv);
    await tmux.waitFor(s2, /\[y\/N\]/);
    tmux.keys(s2, "Enter");
    expect(await tmux.waitFor(s2, /\[exit \d+\]/)).toContain("[exit 1]");

    expect((await w.run(["token", "get", token.id, "--json"])).json().state).toBe("active");
    expect((await w.run(["sa", "get", "keeper"])).code).toBe(0);
  });

  it("revokes all of an account's tokens after a yes, and leaves no progress line behind", async () => {
    for (const name of ["a", "b", "c"]) await w.run(["token", "create", "--sa", "keeper", "--name", name]);
    const s = tmux.start(cliLine(["token", "revoke", "--sa", "keeper", "--all"]), termEnv);
    expect(await tmux.waitFor(s, /\[y\/N\]/)).toContain(
      "Revoke all 4 active token(s) of keeper@default.serviceaccounts.latchkey? They stop working at once.",
    );
    tmux.keys(s, "yes", "Enter");
    const done = await tmux.waitFor(s, /\[exit \d+\]/);
    expect(done).toContain("Revoked 4 token(s) of keeper@default.serviceaccounts.latchkey.");
    expect(done).not.toContain("revoking tokens");
    expect(done).toContain("[exit 0]");
  });

  it("reads the login token without echoing it", async () => {
    const s = tmux.start(cliLine(["login", "--addr", w.server.url, "--profile", "tty"]), {
      ...termEnv,
      LATCHKEY_TOKEN: "",
    });
    await tmux.waitFor(s, /Token \(input is hidden\):/);
    tmux.keys(s, "-l", w.bootstrapToken);
    tmux.keys(s, "Enter");
    const done = await tmux.waitFor(s, /\[exit \d+\]/);
    expect(done).toContain("as bootstrap@default.serviceaccounts.latchkey (owner, organization scope)");
    expect(done).toContain("[exit 0]");
    expect(done).not.toContain(w.bootstrapToken);
    expect(done).not.toContain(w.bootstrapToken.slice(0, 12));
  });

  it("uses colour on a terminal, and none with NO_COLOR", async () => {
    const colour = tmux.start(cliLine(["token", "list", "--sa", "keeper"]), termEnv);
    await tmux.waitFor(colour, /\[exit 0\]/);
    const plain = tmux.start(cliLine(["token", "list", "--sa", "keeper"]), { ...termEnv, NO_COLOR: "1" });
    await tmux.waitFor(plain, /\[exit 0\]/);
    const flag = tmux.start(cliLine(["token", "list", "--sa", "keeper", "--no-color"]), termEnv);
    await tmux.waitFor(flag, /\[exit 0\]/);

    const withColour = tmux.screen(colour, true);
    expect(withColour).toMatch(SGR);
    expect(tmux.screen(colour)).toMatch(/^ID\s+NAME\s+ACCESS\s+STATE\s+EXPIRES\s+LAST USED$/m);
    for (const session of [plain, flag]) {
      const screen = tmux.screen(session, true);
      expect(screen).toMatch(/revoked/);
      expect(screen).not.toMatch(SGR);
    }
  });
});
