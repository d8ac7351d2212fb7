import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../helpers/process.ts";
import { CLI, type CliWorld, cleanEnv, startWorld } from "./helpers.ts";

/**
 * A script that relies only on `--json` (read with jq) and exit statuses: the contract
 * docs/cli.md promises. Each step that fails exits with its own number, so a failure names it.
 */
const SCRIPT = String.raw`
set -u
lk() { node "$CLI" "$@"; }

lk sa create ci-bot --project default --role contributor --json > sa.json || exit 10
jq -e '.email == "ci-bot@default.serviceaccounts.latchkey"' sa.json > /dev/null || exit 11

created=$(lk token create --project default --sa ci-bot --name deploy --ttl 30d --json) || exit 12
id=$(jq -r .id <<< "$created")
secret=$(jq -r .token <<< "$created")
LATCHKEY_TOKEN=$secret lk whoami --json | jq -e '.service_account.name == "ci-bot"' > /dev/null || exit 13

rotated=$(lk token rotate "$id" --grace 1h --json) || exit 14
new_id=$(jq -r .id <<< "$rotated")
new_secret=$(jq -r .token <<< "$rotated")
jq -e --arg id "$id" '.rotated_from == $id and .previous.id == $id and .previous.state == "active"' \
  <<< "$rotated" > /dev/null || exit 15

# During the grace period both secrets work.
lk verify "$secret" --json | jq -e '.active and .token_id != null' > /dev/null || exit 16
lk verify "$new_secret" --json | jq -e --arg id "$new_id" '.token_id == $id' > /dev/null || exit 17

# A second rotation of the same token is a conflict: exit 6, and the problem code on stderr.
lk token rotate "$id" --json 2> err.json > out.json
[ $? -eq 6 ] || exit 18
[ ! -s out.json ] || exit 19
jq -e '.error.code == "token_already_rotated" and .error.exit_code == 6' err.json > /dev/null || exit 20

# A contributor may not create projects: exit 5.
LATCHKEY_TOKEN=$secret lk project create nope --json 2> err.json
[ $? -eq 5 ] || exit 21
jq -e '.error.code == "permission_denied"' err.json > /dev/null || exit 22

lk token revoke "$new_id" --yes --json | jq -e --arg id "$new_id" '.revoked == [$id]' > /dev/null || exit 23

# The revoked token: verify says so (exit 1), and using it is unauthenticated (exit 3).
lk verify "$new_secret" --json > verdict.json
[ $? -eq 1 ] || exit 24
jq -e '.active == false and .reason == "inactive"' verdict.json > /dev/null || exit 25
LATCHKEY_TOKEN=$new_secret lk whoami --json 2> err.json
[ $? -eq 3 ] || exit 26
jq -e '.error.code == "token_revoked"' err.json > /dev/null || exit 27

# Not found: exit 4. A server that is not there: exit 7.
lk token get 00000000-0000-4000-8000-000000000000 --json 2> err.json
[ $? -eq 4 ] || exit 28
jq -e '.error.code == "not_found" and .error.status == 404' err.json > /dev/null || exit 29
lk whoami --addr "http://127.0.0.1:$CLOSED_PORT" --json 2> err.json
[ $? -eq 7 ] || exit 30
jq -e '.error.code == "unreachable"' err.json > /dev/null || exit 31

# The account's tokens as a script sees them.
lk token list --project default --sa ci-bot --json | jq -c '[.items[] | {name, state}]'
echo done
`;

describe("a script that uses only --json and exit statuses", { timeout: 180_000 }, () => {
  let w: CliWorld;
  let dir = "";
  beforeAll(async () => {
    w = await startWorld();
    dir = mkdtempSync(join(tmpdir(), "latchkey-script-"));
  });
  afterAll(async () => {
    await w?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates, rotates with a grace period and revokes", async () => {
    const closedPort = await freePort();
    const run = spawnSync("bash", ["-c", SCRIPT], {
      cwd: dir,
      env: cleanEnv({ ...w.env, CLI, CLOSED_PORT: String(closedPort) }),
      encoding: "utf8",
      timeout: 170_000,
    });
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toBe(
      '[{"name":"deploy","state":"active"},{"name":"deploy","state":"revoked"}]\ndone\n',
    );
    // Nothing but the JSON went anywhere a script reads (stderr went to files above).
    expect(run.stderr).toBe("");
  });
});
