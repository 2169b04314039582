import { setTimeout as sleep } from "node:timers/promises";
import { TrainctlError } from "../core/errors";

export interface RetryOptions {
  /** Attempts in all, including the first. */
  attempts?: number;
  baseMs?: number;
  maxMs?: number;
  /** Decides whether an error is worth another attempt. Default: not a non-retryable TrainctlError. */
  retryable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to count retries. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  random?: () => number;
  signal?: AbortSignal;
  /**
   * When no further attempt may start (epoch ms), read at each failure, so that one deadline can span every
   * operation of a run (see RetryDeadline). An attempt that would start after it is not made.
   */
  deadline?: () => number;
  /** What is being retried, named when the deadline ends the retries (e.g. `PUT s3://bucket/key`). */
  what?: string;
}

/** Exponential backoff with full jitter: a delay drawn uniformly from [0, min(max, base·2^attempt)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

function defaultRetryable(error: unknown): boolean {
  return !(error instanceof TrainctlError) || error.retryable;
}

/** The one retry helper: every retried request goes through it (SDK clients that use it make one attempt each). */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, baseMs = 100, maxMs = 10_000, retryable = defaultRetryable, onRetry, random, signal, deadline, what = "the request" } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error) || signal?.aborted) throw error;
      const delayMs = backoffDelay(attempt, baseMs, maxMs, random);
      const until = deadline?.();
      if (until !== undefined && Date.now() + delayMs >= until) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new TrainctlError(
          `gave up retrying ${what} after ${attempt + 1} attempt(s): the run's retry deadline passed (last error: ${reason.split("\n")[0]})`,
          { cause: error },
        );
      }
      onRetry?.(error, attempt + 1, delayMs);
      await sleep(delayMs, undefined, { signal });
    }
  }
}

/**
 * One retry deadline for a whole run: armed by the first failure after a success, disarmed by the next success.
 * A run that keeps failing for `budgetMs` stops retrying, however many requests are failing at once.
 */
export class RetryDeadline {
  private failingSince: number | undefined;

  constructor(private readonly budgetMs: number) {}

  succeeded(): void {
    this.failingSince = undefined;
  }

  /** For RetryOptions.deadline: call it at a failure. */
  readonly expiresAt = (): number => {
    this.failingSince ??= Date.now();
    return this.failingSince + this.budgetMs;
  };
}
