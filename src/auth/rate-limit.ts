import type { Clock } from "../lib/clock.ts";

/**
 * Counts failed authentications per client address in fixed windows. Only failures count, so a
 * busy client with a good token is never slowed; a guesser is stopped after `maxFailures`.
 */
export class FailedAuthLimiter {
  readonly #windows = new Map<string, { start: number; failures: number }>();

  constructor(
    private readonly clock: Clock,
    readonly maxFailures: number,
    readonly windowSeconds: number,
  ) {}

  /** Seconds until the address may try again, or 0 when it may try now. */
  retryAfter(address: string): number {
    const window = this.#current(address);
    if (!window || window.failures < this.maxFailures) return 0;
    return Math.max(
      1,
      Math.ceil((window.start + this.windowSeconds * 1000 - this.clock.now().getTime()) / 1000),
    );
  }

  recordFailure(address: string): void {
    const window = this.#current(address);
    if (window) window.failures += 1;
    else this.#windows.set(address, { start: this.clock.now().getTime(), failures: 1 });
    if (this.#windows.size > 100_000) this.#sweep();
  }

  #current(address: string) {
    const window = this.#windows.get(address);
    if (window && window.start + this.windowSeconds * 1000 <= this.clock.now().getTime()) {
      this.#windows.delete(address);
      return undefined;
    }
    return window;
  }

  #sweep(): void {
    for (const address of this.#windows.keys()) this.#current(address);
  }
}
