import { type Command, Option } from "commander";
import { type Ctx, handler, withExamples, withOutputOptions } from "../command.ts";
import type { Store } from "../../db/database.ts";
import type { StoreDigest, TransferReport } from "../../store-transfer/transfer.ts";
import { CliError, EXIT } from "../errors.ts";

/**
 * `export`, `import` and `copy`: move a whole deployment between stores (SQLite to PostgreSQL when
 * it outgrows one process), verified afterwards. They work on the store directly, not through a
 * server, and load the server's modules only when they run.
 */
export function registerStore(program: Command): void {
  const storeOptions = (command: Command) =>
    command
      .addOption(
        new Option(
          "--database-url <url>",
          "postgres://… or sqlite:PATH (default: the SQLite store in --data-dir)",
        ).env("LATCHKEY_DATABASE_URL"),
      )
      .addOption(new Option("--data-dir <dir>", "where the SQLite store lives").env("LATCHKEY_DATA_DIR"));

  const exportCommand = withOutputOptions(
    storeOptions(
      program
        .command("export")
        .description("Write the whole store (projects, accounts, token digests, keys, audit chain) to a file")
        .requiredOption(
          "-o, --output <file>",
          "the export file (created with mode 0600; - for standard output)",
        ),
    ),
  );
  withExamples(exportCommand, [
    ["the embedded store in ./data", "latchkey export --data-dir ./data --output latchkey.export"],
    [
      "a PostgreSQL store",
      "latchkey export --database-url postgres://latchkey@db/latchkey -o latchkey.export",
    ],
  ]).action(
    handler<{ output: string; databaseUrl?: string; dataDir?: string }>(async (ctx, flags) => {
      const { exportStore } = await import("../../store-transfer/file.ts");
      await withStore(flags, async (store) => {
        const { createWriteStream, rmSync } = await import("node:fs");
        const toStdout = flags.output === "-";
        const out = toStdout ? process.stdout : createWriteStream(flags.output, { flags: "wx", mode: 0o600 });
        try {
          if (!toStdout)
            await new Promise((resolve, reject) => out.once("open", resolve).once("error", reject));
          const report = await exportStore(store, out);
          if (!toStdout)
            await new Promise<void>((resolve, reject) => out.end(() => resolve()).once("error", reject));
          const result = { from: store.location, to: flags.output, ...summary(report) };
          if (ctx.out.json && !toStdout) return ctx.out.printJson(result);
          const say = toStdout ? (text: string) => ctx.out.note(text) : (text: string) => ctx.out.line(text);
          say(`Exported ${store.location} to ${flags.output} (${report.seconds.toFixed(1)} s).`);
          describeDigest(ctx, report.digest, say);
          say("The file holds token digests and the wrapped signing keys: keep it as safe as the database.");
        } catch (error) {
          if (!toStdout) {
            out.destroy();
            rmSync(flags.output, { force: true });
          }
          throw error;
        }
      });
    }),
  );

  const importCommand = withOutputOptions(
    storeOptions(
      program
        .command("import")
        .description("Load an export into a new, empty store, and verify it (counts, checksums, audit chain)")
        .requiredOption("-i, --input <file>", "the export file (- for standard input)")
        .option("--master-key-file <file>", "check that this master key opens the signing keys"),
    ),
  );
  withExamples(importCommand, [
    [
      "into PostgreSQL",
      "latchkey import --input latchkey.export --database-url postgres://latchkey@db/latchkey",
    ],
  ]).action(
    handler<{ input: string; databaseUrl?: string; dataDir?: string; masterKeyFile?: string }>(
      async (ctx, flags) => {
        const { importStore } = await import("../../store-transfer/file.ts");
        await withStore(flags, async (store) => {
          const report = await importStore(store, flags.input === "-" ? process.stdin : flags.input);
          await reportTransfer(ctx, report, store, { file: flags.masterKeyFile });
        });
      },
    ),
  );

  const copy = withOutputOptions(
    program
      .command("copy")
      .description("Copy a whole store into a new, empty one (e.g. SQLite to PostgreSQL), verified")
      .requiredOption(
        "--from <url>",
        "the store to copy: sqlite:PATH (file or data directory) or postgres://…",
      )
      .requiredOption("--to <url>", "the empty store to fill: postgres://… or sqlite:PATH")
      .option("--master-key-file <file>", "check that this master key opens the signing keys"),
  );
  withExamples(copy, [
    [
      "outgrow SQLite",
      "latchkey copy --from sqlite:/var/lib/latchkey --to postgres://latchkey:secret@db:5432/latchkey",
    ],
    [
      "a PostgreSQL schema to another",
      "latchkey copy --from postgres://…/lk --to 'postgres://…/lk?schema=staging'",
    ],
  ]).action(
    handler<{ from: string; to: string; masterKeyFile?: string }>(async (ctx, flags) => {
      const { copyStore } = await import("../../store-transfer/transfer.ts");
      await withStore({ databaseUrl: flags.from }, async (source) =>
        withStore({ databaseUrl: flags.to }, async (target) => {
          const report = await copyStore(source, target);
          const sqliteSource = source.dialect.name === "sqlite" ? source.location : undefined;
          await reportTransfer(ctx, report, target, { file: flags.masterKeyFile, sqliteSource });
        }),
      );
    }),
  );
}

/** Opens the store the flags name, runs `work`, closes it; store failures become CLI errors. */
async function withStore(
  flags: { databaseUrl?: string; dataDir?: string },
  work: (store: Store) => Promise<void>,
): Promise<void> {
  const { openStore, SchemaTooNewError, StoreUrlError } = await import("../../db/database.ts");
  const { StoreTransferError } = await import("../../store-transfer/transfer.ts");
  const { AuditChainError } = await import("../../store-transfer/digest.ts");
  const { StoreUnavailableError } = await import("../../db/errors.ts");
  let store: Store;
  try {
    store = await openStore(
      { databaseUrl: flags.databaseUrl, dataDir: flags.dataDir ?? "./data" },
      { poolMax: 2 },
    );
  } catch (error) {
    if (error instanceof StoreUrlError)
      throw new CliError(error.message, { exitCode: EXIT.usage, code: "usage_error" });
    throw error;
  }
  try {
    await work(store);
  } catch (error) {
    if (error instanceof StoreUnavailableError) {
      const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
      throw new CliError(`${store.location} is not reachable${cause}`, {
        exitCode: EXIT.unreachable,
        code: "store_unavailable",
      });
    }
    if (
      error instanceof StoreTransferError ||
      error instanceof AuditChainError ||
      error instanceof SchemaTooNewError
    ) {
      throw new CliError(`${error.message}; nothing was written`, {
        exitCode: EXIT.failure,
        code: "store_transfer",
      });
    }
    throw error;
  } finally {
    await store.close();
  }
}

function summary(report: { digest: StoreDigest; migration: string; seconds: number }) {
  return {
    migration: report.migration,
    seconds: report.seconds,
    tables: report.digest.tables,
    audit: { ...report.digest.audit, verified: true },
  };
}

function describeDigest(ctx: Ctx, digest: StoreDigest, say: (text: string) => void): void {
  const names = Object.keys(digest.tables) as (keyof StoreDigest["tables"])[];
  const width = Math.max(...names.map((n) => n.length));
  for (const name of names) {
    const t = digest.tables[name];
    say(
      `  ${name.padEnd(width)}  ${String(t.rows).padStart(8)} rows  ${ctx.out.p.dim(t.sha256.slice(0, 16))}`,
    );
  }
  say(`Audit chain: ${digest.audit.events} events, verified, ends in ${digest.audit.head.slice(0, 16)}…`);
}

async function reportTransfer(
  ctx: Ctx,
  report: TransferReport,
  target: Store,
  keyOptions: { file?: string; sqliteSource?: string },
): Promise<void> {
  const { checkSigningKeys, findMasterKey } = await import("../../store-transfer/keys.ts");
  const keys = await checkSigningKeys(target.db, findMasterKey(process.env, keyOptions));
  if (ctx.out.json) {
    ctx.out.printJson({
      from: report.from,
      to: report.to,
      ...summary(report),
      signing_keys: { total: keys.total, decrypted: keys.decrypted, master_key: keys.masterKey ?? null },
    });
  } else {
    ctx.out.line(
      `Copied ${report.from} to ${report.to} (${report.seconds.toFixed(1)} s); every row verified:`,
    );
    describeDigest(ctx, report.digest, (text) => ctx.out.line(text));
    if (keys.masterKey === undefined) {
      ctx.out.line(
        `Signing keys: ${keys.total}, not checked (no master key found; give --master-key-file). ` +
          "Every server needs the master key they were written with.",
      );
    } else {
      ctx.out.line(
        `Signing keys: ${keys.decrypted} of ${keys.total} open with the master key from ${keys.masterKey}.`,
      );
      ctx.out.line(
        `Next: start the servers with LATCHKEY_DATABASE_URL set to the new store, that master key, and the same LATCHKEY_ISSUER.`,
      );
    }
  }
  if (keys.masterKey !== undefined && keys.decrypted < keys.total) {
    throw new CliError(
      `${keys.total - keys.decrypted} signing keys do not open with the master key from ${keys.masterKey}: ` +
        "the data was copied, but servers given that key cannot start",
      { exitCode: EXIT.failure, code: "master_key_mismatch" },
    );
  }
}
