import { Command, Option } from "commander";
import { migrate, openSqlite, SchemaTooNewError } from "../db/database.ts";
import { ConfigError, serverConfig } from "../server/config.ts";
import { runServer } from "../server/main.ts";

const program = new Command()
  .name("latchkey")
  .description("Service accounts and API tokens for machines")
  .version("0.1.0")
  .showHelpAfterError();

program
  .command("server")
  .description("Run the Latchkey server (SQLite in --data-dir)")
  .addOption(new Option("--listen <host:port>", "listen address").env("LATCHKEY_LISTEN"))
  .addOption(new Option("--data-dir <dir>", "where the SQLite store lives").env("LATCHKEY_DATA_DIR"))
  .addOption(
    new Option("--max-token-ttl <duration>", "longest token lifetime (e.g. 366d)").env(
      "LATCHKEY_MAX_TOKEN_TTL",
    ),
  )
  .action(async (flags: { listen?: string; dataDir?: string; maxTokenTtl?: string }) => {
    await runServer(serverConfig(flags, process.env));
  });

program
  .command("migrate")
  .description("Apply pending store migrations and exit")
  .addOption(new Option("--data-dir <dir>", "where the SQLite store lives").env("LATCHKEY_DATA_DIR"))
  .action(async (flags: { dataDir?: string }) => {
    const db = openSqlite(serverConfig(flags, process.env).dataDir);
    const applied = await migrate(db);
    await db.destroy();
    process.stdout.write(`store is at migration ${applied.at(-1) ?? "(none)"} (${applied.length} applied)\n`);
  });

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof ConfigError || error instanceof SchemaTooNewError) {
    process.stderr.write(`latchkey: ${error.message}\n`);
    process.exit(2);
  }
  throw error;
}
