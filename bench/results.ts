/** The shape of bench/results/*.json, written by bench/run.ts and read by bench/report.ts. */

export interface RunResult {
  rps: number;
  requests: number;
  seconds: number;
  p50_ms: number | null;
  p99_ms: number | null;
  max_ms: number | null;
  /** Server process CPU (utime + stime) per request; in-process workloads: wall time per operation. */
  cpu_us_per_request: number;
  /** PostgreSQL backends serving the server, per request (null on SQLite and for other systems). */
  db_cpu_us_per_request: number | null;
  rss_mib: number | null;
  /** Transport errors: connect, read, write, timeout. */
  errors: number;
  /** Responses neither checked correct nor counted wrong (should be 0). */
  unanswered: number;
  /** Answers that were wrong: a refused valid token, an accepted invalid one, a bad status or body. */
  wrong: number;
  /** revoke-then-verify: accepted after the revoke answered; sdk-verify: still accepted after 2 s. */
  stale: number;
  /** Revocable tokens ran out and were reused (a harness sizing problem, not a product one). */
  exhausted: number;
  first_wrong: string | null;
  /** 1-minute load average of the machine when the run started. */
  loadavg: number;
  revocation_lag_ms?: {
    samples: number;
    p50: number | null;
    max: number | null;
    still_accepted_after_2s: number;
  };
}

export interface WorkloadResult {
  name: string;
  system: "floor" | "peer" | "latchkey-sqlite" | "latchkey-postgres" | "in-process";
  description: string;
  warmup: RunResult | null;
  runs: RunResult[];
}

export interface StoreInfo {
  store: "sqlite" | "postgres";
  tokens: number;
  seed_seconds: number;
  list_tokens: number;
  pool: Record<string, number>;
  explain: {
    sql: string;
    cursor: string;
    plan: string;
    index_driven: boolean;
    index_only: boolean;
    verdict: string;
  };
  durability: string;
}

export interface Results {
  started: string;
  finished: string;
  config: Record<string, unknown>;
  machine: {
    cpus: string;
    cores: number;
    node: string;
    loadavg_before: number[];
    loadavg_after: number[];
    wrk: string;
  };
  stores: StoreInfo[];
  rss_by_round: Record<string, number[]>;
  workloads: WorkloadResult[];
}
