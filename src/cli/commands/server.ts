import { type Command, Option } from "commander";
import { withExamples } from "../command.ts";
import { CliError, EXIT } from "../errors.ts";

/**
 * `server` and `migrate`. The server's modules are imported only when one of these runs, so the
 * client commands start without loading Fastify, SQLite and the rest.
 */
export function registerServer(program: Command): void {
  const server = program
    .command("server")
    .description("Run the Latchkey server (SQLite in --data-dir)")
    .addOption(new Option("--listen <host:port>", "listen address").env("LATCHKEY_LISTEN"))
    .addOption(new Option("--data-dir <dir>", "where the SQLite store lives").env("LATCHKEY_DATA_DIR"))
    .addOption(
      new Option("--max-token-ttl <duration>", "longest token lifetime (e.g. 366d)").env(
        "LATCHKEY_MAX_TOKEN_TTL",
      ),
    )
    .option("--json", "accepted for uniformity: the server always logs JSON lines");
  withExamples(server, [
    ["serve http://127.0.0.1:8080 from ./data", "latchkey server"],
    [
      "another address and data directory",
      "latchkey server --listen 0.0.0.0:9000 --data-dir /var/lib/latchkey",
    ],
  ]).action(
    async ({
      json: _json,
      ...flags
    }: {
      listen?: string;
      dataDir?: string;
      maxTokenTtl?: string;
      json?: boolean;
    }) => {
      const { serverConfig } = await import("../../server/config.ts");
      const { runServer } = await import("../../server/main.ts");
      await serverErrors(async () => runServer(serverConfig(flags, process.env)));
    },
  );

  const migrate = program
    .command("migrate")
    .description("Apply pending store migrations and exit")
    .addOption(new Option("--data-dir <dir>", "where the SQLite store lives").env("LATCHKEY_DATA_DIR"))
    .option("--json", "print {migration, applied} as JSON");
  withExamples(migrate, [["migrate ./data before an upgrade", "latchkey migrate --data-dir ./data"]]).action(
    async (flags: { dataDir?: string; json?: boolean }) => {
      const { serverConfig } = await import("../../server/config.ts");
      const { migrate: apply, openStore } = await import("../../db/database.ts");
      await serverErrors(async () => {
        // LATCHKEY_DATABASE_URL (PostgreSQL), else the SQLite store in --data-dir.
        const store = await openStore(serverConfig(flags, process.env));
        const applied = await apply(store.db);
        await store.close();
        const migration = applied.at(-1) ?? null;
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ migration, applied: applied.length }, null, 2)}\n`
            : `store is at migration ${migration ?? "(none)"} (${applied.length} applied)\n`,
        );
      });
    },
  );
}

/** A bad configuration or a store from a newer Latchkey: a usage error (exit 2) with the reason. */
async function serverErrors(run: () => Promise<void>): Promise<void> {
  const { ConfigError } = await import("../../server/config.ts");
  const { SchemaTooNewError } = await import("../../db/database.ts");
  try {
    await run();
  } catch (error) {
    if (error instanceof ConfigError || error instanceof SchemaTooNewError) {
      throw new CliError(error.message, { exitCode: EXIT.usage, code: "server_config" });
    }
    throw error;
  }
}
