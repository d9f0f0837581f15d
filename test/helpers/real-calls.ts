/**
 * Counting the overlay's real system calls: the overlay's own I/O goes through the fs snapshot
 * `real` (lib/real-fs.ts), so wrapping its functions for the duration of `fn` counts them.
 */
import { real } from '../../lib/real-fs';

function wrap(names: string[]): { counts: Record<string, number>; restore: () => void } {
  const counts: Record<string, number> = {};
  const saved: Record<string, unknown> = {};
  for (const name of names) {
    counts[name] = 0;
    saved[name] = real[name];
    const orig = real[name] as (...a: unknown[]) => unknown;
    real[name] = function (this: unknown, ...a: unknown[]) { counts[name]++; return orig.apply(this, a); };
  }
  return { counts, restore: () => { for (const name of names) real[name] = saved[name]; } };
}

/** The calls of `names` that `fn` makes. */
export function countCalls(names: string[], fn: () => void): Record<string, number> {
  const { counts, restore } = wrap(names);
  try { fn(); } finally { restore(); }
  return counts;
}

/** The same over an async `fn` (every call made until it settles, events included). */
export async function countCallsAsync(names: string[], fn: () => Promise<unknown>): Promise<Record<string, number>> {
  const { counts, restore } = wrap(names);
  try { await fn(); } finally { restore(); }
  return counts;
}
