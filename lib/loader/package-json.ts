/**
 * package.json files read through the merged view. Node's own readers (the ESM resolver's and
 * the CommonJS package-scope lookup) use a private binding that no fs patch reaches, so for
 * files under a mountpoint overlay-fs reads them itself, with an fs whose paths are routed.
 */
import * as path from 'path';
import { invalidPackageConfig } from './errors';

export interface PackageJson {
  /** The directory holding package.json. */
  readonly dir: string;
  readonly name?: string;
  readonly main?: string;
  readonly type?: 'module' | 'commonjs';
  readonly exports?: unknown;
  readonly imports?: unknown;
}

/** Reads a text file, or returns null when it does not exist. */
export type ReadText = (file: string) => string | null;

/** A ReadText over an fs-shaped object (the routed one). */
export function readTextWith(fs: { readFileSync(p: string, enc: 'utf8'): string }): ReadText {
  return (file) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') return null;
      throw err;
    }
  };
}

export function readPackage(read: ReadText, dir: string, base?: string): PackageJson | null {
  const file = path.join(dir, 'package.json');
  const text = read(file);
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw invalidPackageConfig(file, base, (err as Error).message);
  }
  const json = (raw && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  const own = (k: string) => Object.prototype.hasOwnProperty.call(json, k);
  return {
    dir,
    name: own('name') && typeof json.name === 'string' ? json.name : undefined,
    main: own('main') && typeof json.main === 'string' ? json.main : undefined,
    type: json.type === 'module' || json.type === 'commonjs' ? json.type : undefined,
    exports: own('exports') ? json.exports : undefined,
    imports: own('imports') ? json.imports : undefined,
  };
}

/** The package scope of a file: the nearest package.json above it, not crossing node_modules. */
export function packageScope(read: ReadText, file: string): PackageJson | null {
  for (let dir = path.dirname(file); ; dir = path.dirname(dir)) {
    // Node stops at a node_modules directory: a package never inherits the scope above it.
    if (path.basename(dir) === 'node_modules') return null;
    const pkg = readPackage(read, dir);
    if (pkg) return pkg;
    if (path.dirname(dir) === dir) return null;
  }
}
