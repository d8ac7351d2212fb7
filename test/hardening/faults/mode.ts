/**
 * Short form (every `npm test`) or long form (`npm run hardening:long`, LATCHKEY_HARDENING=long):
 * the same checks, with more repetitions and longer runs.
 */
export const LONG = process.env.LATCHKEY_HARDENING === "long";

/** `short` in an ordinary run, `long` in the long form. */
export const scaled = (short: number, long: number): number => (LONG ? long : short);

/** Figures worth writing to docs/reliability.md, on one greppable line per check. */
export function report(check: string, figures: Record<string, unknown>): void {
  console.log(`[hardening] ${check}: ${JSON.stringify(figures)}`);
}

/**
 * The PostgreSQL the fault and soak tests use (each in a schema of its own; they never stop the server).
 * Without one they are skipped on a developer's machine, and fail in CI, where .ci/run always sets it.
 */
export const HARDENING_POSTGRES_URL = process.env.LATCHKEY_TEST_POSTGRES_URL || undefined;
export const SKIP_WITHOUT_POSTGRES = HARDENING_POSTGRES_URL === undefined && process.env.CI !== "true";

export function requirePostgres(): string {
  if (!HARDENING_POSTGRES_URL) throw new Error("set LATCHKEY_TEST_POSTGRES_URL (CI always does)");
  return HARDENING_POSTGRES_URL;
}
