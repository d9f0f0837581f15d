/**
 * The ESM `load` hook for files under a mountpoint: decides the format through the merged view
 * and supplies the source, read through the patched fs. Node's default load would read both
 * through bindings that cannot see the mount. The result still goes through Node's default
 * load (with format and source filled in), so import attributes are checked exactly as Node
 * checks them.
 *
 * CommonJS gets no source: Node then runs the module through the CommonJS loader, which the
 * patch serves (Module._stat, readFileSync), so `require` inside it, require.cache and
 * module.exports behave as in any CommonJS module.
 */
import fs = require('fs');
import { fileURLToPath } from 'url';
import { isAtOrUnder } from '../paths';
import { decideFormat } from './format';
import { readTextWith } from './package-json';

export interface LoadContext {
  conditions?: string[];
  format?: string | null;
  importAttributes?: Record<string, string>;
  source?: unknown;
}
export interface LoadResult {
  format: string;
  source?: string | ArrayBuffer | Uint8Array | null;
  shortCircuit?: boolean;
}
export type NextLoad = (url: string, context?: LoadContext) => LoadResult | Promise<LoadResult>;

export function createLoadHook(mountpoints: () => readonly string[]) {
  const read = readTextWith(fs);
  return async function load(url: string, context: LoadContext, next: NextLoad): Promise<LoadResult> {
    if (!url.startsWith('file:') || mountpoints().length === 0) return next(url, context);
    let file: string;
    try {
      file = fileURLToPath(url);
    } catch {
      return next(url, context);
    }
    if (!mountpoints().some((m) => isAtOrUnder(file, m))) return next(url, context);

    const getSource = () => fs.promises.readFile(file);
    let format = context.format ?? undefined;
    let source: Buffer | undefined;
    if (format === undefined) ({ format, source } = await decideFormat(file, read, getSource));
    if (format === 'commonjs') return next(url, { ...context, format, source: null });
    source ??= await getSource();
    return next(url, { ...context, format, source });
  };
}
