import { chmodSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, isAbsolute, join } from "node:path";
import { DEFAULT_ADDR, normalizeAddr } from "./client.ts";
import { CliError, EXIT, usageError } from "./errors.ts";

/** One saved connection: a server address and the token to use there. */
export interface Profile {
  addr: string;
  token: string;
  /** Who the token belonged to when it was saved (for `profile list`; informational). */
  service_account?: string;
  saved_at?: string;
}

export interface ConfigFile {
  current_profile: string | null;
  profiles: Record<string, Profile>;
}

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

export function checkProfileName(name: string): string {
  if (!PROFILE_NAME.test(name)) {
    throw usageError(
      `"${name}" is not a profile name`,
      "use letters, digits, '.', '_' and '-' (at most 63 characters)",
    );
  }
  return name;
}

/** `$XDG_CONFIG_HOME/latchkey/config.json`, or `~/.config/latchkey/config.json` (XDG's default). */
export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && isAbsolute(xdg) ? xdg : join(env.HOME || homedir(), ".config");
  return join(base, "latchkey", "config.json");
}

export function readConfig(path: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { current_profile: null, profiles: {} };
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`, {
      exitCode: EXIT.failure,
      code: "config_unreadable",
    });
  }
  try {
    const parsed = JSON.parse(text) as Partial<ConfigFile>;
    const profiles: Record<string, Profile> = {};
    for (const [name, p] of Object.entries(parsed.profiles ?? {})) {
      if (p && typeof p.addr === "string" && typeof p.token === "string") profiles[name] = p;
    }
    const current = typeof parsed.current_profile === "string" ? parsed.current_profile : null;
    return { current_profile: current, profiles };
  } catch {
    throw new CliError(`${path} is not valid JSON`, {
      exitCode: EXIT.failure,
      code: "config_invalid",
      hint: "fix the file, or delete it and log in again",
    });
  }
}

/** Writes the whole file atomically, readable by its owner only (it holds tokens). */
export function writeConfig(path: string, config: ConfigFile): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600, flag: "w" });
    chmodSync(temporary, 0o600);
    renameSync(temporary, path);
  } catch (error) {
    rmSync(temporary, { force: true });
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`, {
      exitCode: EXIT.failure,
      code: "config_unwritable",
    });
  }
}

export interface ConnectionFlags {
  addr?: string;
  token?: string;
  profile?: string;
}

export type Source = "flag" | "environment" | "profile" | "default";

export interface Connection {
  addr: string;
  token: string | undefined;
  /** The profile in use, if any of the two values came from it. */
  profile: string | undefined;
  addrSource: Source;
  tokenSource: Source | undefined;
  configPath: string;
}

/**
 * Where the address and the token come from, each on its own, first match wins:
 *   1. `--addr` / `--token`
 *   2. the profile named by `--profile`
 *   3. `LATCHKEY_ADDR` / `LATCHKEY_TOKEN`
 *   4. the profile named by `LATCHKEY_PROFILE`, else the current profile of the config file
 *   5. the address http://127.0.0.1:8080 (there is no default token)
 * A profile's token is only ever sent to that profile's own address.
 */
export function resolveConnection(flags: ConnectionFlags, env: NodeJS.ProcessEnv = process.env): Connection {
  const path = configPath(env);
  const config = readConfig(path);
  const named = flags.profile ?? (env.LATCHKEY_PROFILE || undefined);
  if (named !== undefined && !config.profiles[named]) {
    throw usageError(`no profile named "${named}" in ${path}`, "`latchkey profile list` shows the profiles");
  }
  const profileName = named ?? config.current_profile ?? undefined;
  const profile = profileName === undefined ? undefined : config.profiles[profileName];
  const explicit = flags.profile !== undefined;

  const envAddr = env.LATCHKEY_ADDR || undefined;
  const envToken = env.LATCHKEY_TOKEN || undefined;
  let addr: string;
  let addrSource: Source;
  if (flags.addr !== undefined) [addr, addrSource] = [normalizeAddr(flags.addr), "flag"];
  else if (explicit && profile) [addr, addrSource] = [profile.addr, "profile"];
  else if (envAddr !== undefined) [addr, addrSource] = [normalizeAddr(envAddr), "environment"];
  else if (profile) [addr, addrSource] = [profile.addr, "profile"];
  else [addr, addrSource] = [DEFAULT_ADDR, "default"];

  const profileToken = profile && profile.addr === addr ? profile.token : undefined;
  let token: string | undefined;
  let tokenSource: Source | undefined;
  if (flags.token !== undefined) [token, tokenSource] = [flags.token.trim(), "flag"];
  else if (explicit && profileToken !== undefined) [token, tokenSource] = [profileToken, "profile"];
  else if (envToken !== undefined) [token, tokenSource] = [envToken.trim(), "environment"];
  else if (profileToken !== undefined) [token, tokenSource] = [profileToken, "profile"];

  const usesProfile = addrSource === "profile" || tokenSource === "profile";
  return {
    addr,
    token,
    profile: usesProfile ? profileName : undefined,
    addrSource,
    tokenSource,
    configPath: path,
  };
}
