/**
 * Roll-back for operations made of several real steps. Each step that changes the upper (or
 * the work directory) records how to take it back; when a later step fails, the recorded steps
 * run in reverse order and the first error is what the caller sees. A failed operation thus
 * leaves the upper as it found it (and no temporary behind), not half done.
 */
import type { Io } from './io';

export class Undo {
  private readonly steps: Array<() => Io<unknown>> = [];

  /** Record how to take back a step that has just succeeded. */
  add(step: () => Io<unknown>): void {
    this.steps.push(step);
  }

  /** Run the recorded steps, newest first; a step that fails does not stop the others. */
  *rollback(): Io<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop()!;
      try {
        yield* step();
      } catch {
        /* keep the operation's own error; the next start cleans up what is left in the work directory */
      }
    }
  }
}

/** Run `body` with an Undo; if it throws, roll back what it recorded and rethrow. */
export function* withUndo<T>(body: (undo: Undo) => Io<T>): Io<T> {
  const undo = new Undo();
  try {
    return yield* body(undo);
  } catch (err) {
    yield* undo.rollback();
    throw err;
  }
}
