import { closeSync, existsSync, fchmodSync, openSync, rmSync, writeSync } from "node:fs";
import { CliError, EXIT } from "./errors.ts";

/**
 * A file for a secret, opened (mode 0600) before the secret exists, so that a token is never
 * created or rotated only to find that its one copy cannot be written. `discard` removes a file
 * this opened afresh when the API call then fails.
 */
export class SecretFile {
  readonly #fd: number;
  readonly #created: boolean;

  constructor(readonly path: string) {
    this.#created = !existsSync(path);
    try {
      this.#fd = openSync(path, "w", 0o600);
      fchmodSync(this.#fd, 0o600);
    } catch (error) {
      throw new CliError(`cannot write the secret to ${path}: ${(error as Error).message}`, {
        exitCode: EXIT.failure,
        code: "output_file_unwritable",
        hint: "nothing was created; choose a file in a directory you can write to",
      });
    }
  }

  write(secret: string): void {
    writeSync(this.#fd, `${secret}\n`);
    closeSync(this.#fd);
  }

  discard(): void {
    closeSync(this.#fd);
    if (this.#created) rmSync(this.path, { force: true });
  }
}
