import { setTimeout as sleep } from "node:timers/promises";
import { TrainctlError } from "./errors";

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
}

/** Exponential backoff with full jitter: a delay drawn uniformly from [0, min(max, base·2^attempt)). */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  return Math.floor(random() * Math.min(maxMs, baseMs * 2 ** attempt));
}

function defaultRetryable(error: unknown): boolean {
  return !(error instanceof TrainctlError) || error.retryable;
}

/** The one retry helper for composite operations; SDK calls keep the SDK's own retry strategy. */
export async function withRetry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const { attempts = 5, baseMs = 100, maxMs = 10_000, retryable = defaultRetryable, onRetry, random, signal } = options;
  for (let attempt = 0; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      if (attempt + 1 >= attempts || !retryable(error) || signal?.aborted) throw error;
      const delayMs = backoffDelay(attempt, baseMs, maxMs, random);
      onRetry?.(error, attempt + 1, delayMs);
      await sleep(delayMs, undefined, { signal });
    }
  }
}
