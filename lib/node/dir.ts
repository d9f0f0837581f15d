/** fs.Dir for a merged directory: iterates a snapshot of the merged listing. */
import type * as fs from 'fs';

type Callback<T> = (err: Error | null, value?: T) => void;

function closedError(): Error {
  const err = new Error('Directory handle was closed') as Error & { code: string };
  err.code = 'ERR_DIR_CLOSED';
  return err;
}

export class MergedDir {
  readonly path: string;
  #entries: fs.Dirent[];
  #closed = false;

  constructor(path: string, entries: fs.Dirent[]) {
    this.path = path;
    this.#entries = entries;
  }

  readSync(): fs.Dirent | null {
    if (this.#closed) throw closedError();
    return this.#entries.shift() ?? null;
  }

  read(): Promise<fs.Dirent | null>;
  read(cb: Callback<fs.Dirent | null>): void;
  read(cb?: Callback<fs.Dirent | null>): Promise<fs.Dirent | null> | void {
    const p = new Promise<fs.Dirent | null>((resolve, reject) => {
      try { resolve(this.readSync()); } catch (err) { reject(err); }
    });
    if (!cb) return p;
    p.then((v) => cb(null, v), (e) => cb(e));
  }

  closeSync(): void {
    if (this.#closed) throw closedError();
    this.#closed = true;
    this.#entries = [];
  }

  close(): Promise<void>;
  close(cb: (err: Error | null) => void): void;
  close(cb?: (err: Error | null) => void): Promise<void> | void {
    const p = new Promise<void>((resolve, reject) => {
      try { this.closeSync(); resolve(); } catch (err) { reject(err); }
    });
    if (!cb) return p;
    p.then(() => cb(null), (e) => cb(e));
  }

  async *entries(): AsyncGenerator<fs.Dirent> {
    try {
      for (;;) {
        const d = await this.read();
        if (d === null) return;
        yield d;
      }
    } finally {
      if (!this.#closed) this.closeSync();
    }
  }

  [Symbol.asyncIterator](): AsyncGenerator<fs.Dirent> {
    return this.entries();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#closed) this.closeSync();
  }
}
