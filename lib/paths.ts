/** Turning Node path arguments (string, Buffer, file: URL) into absolute strings. */
import * as path from 'path';
import { fileURLToPath } from 'url';
import { types } from 'util';

export interface PathInput {
  /** Absolute, normalised path. */
  abs: string;
  /** The caller's path as Node shows it in errors (relative paths stay relative). */
  shown: string;
  /** The argument ended with a slash: the final component must be a directory. */
  slash: boolean;
  /** The final component is `.` or `..` (rename, rmdir, unlink and mkdir treat those specially). */
  dots?: boolean;
  /**
   * The path has `..` components: `abs` is only its lexical form, and the path must be walked
   * as the kernel does (lib/router/dots.ts) before it is looked up. `raw` is the absolute,
   * unnormalised path; `lexical` the `abs` it goes with (a copy with another `abs` is not walked).
   */
  walk?: { readonly raw: string; readonly lexical: string };
  /** Every lookup of this path fails with this code (ENAMETOOLONG over PATH_MAX; EILSEQ). */
  fail?: string;
}

/**
 * Parse a path argument, or return null when it is not a valid path-like: the caller then
 * hands the untouched arguments to Node's own function, which throws Node's exact error.
 */
export function parsePath(p: unknown): PathInput | null {
  let s: string;
  if (typeof p === 'string') s = p;
  else if (types.isUint8Array(p)) {
    // A Buffer, or any Uint8Array (Node takes both as a path), from whichever realm.
    const b = Buffer.isBuffer(p) ? p : Buffer.from(p.buffer, p.byteOffset, p.byteLength);
    s = b.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(b)) return null; // invalid UTF-8: leave to Node
  } else if (isURL(p)) {
    if (p.protocol !== 'file:') return null;
    try { s = fileURLToPath(p); } catch { return null; }
  } else return null;
  if (s.length === 0 || s.includes('\u0000')) return null;
  // Fast path: an absolute path already in normal form (no '//', no '.' or '..' component, no
  // trailing slash) is its own path.resolve(); checked by scanning for '/' followed by '/' or '.'.
  if (isNormalAbsolute(s) && !pathTooLong(s)) return { abs: s, shown: s, slash: false, dots: false, walk: undefined, fail: undefined };
  const abs = path.resolve(s);
  // The kernel limits the string it is given (relative or not) to PATH_MAX, whatever its `..` do.
  const fail = pathTooLong(s) ? 'ENAMETOOLONG' : undefined;
  const walk = fail === undefined && hasDotDot(s) ? { raw: path.isAbsolute(s) ? s : process.cwd() + '/' + s, lexical: abs } : undefined;
  return { abs, shown: s, slash: /\/\.?$/.test(s) && s !== '/', dots: /(^|\/)\.\.?\/*$/.test(s), walk, fail };
}

/**
 * A Buffer path that is not valid UTF-8, decoded (lossily) to find where it points; null for
 * anything else. Names are strings here, so such a path cannot be served (EILSEQ).
 */
export function parseInvalidUtf8(p: unknown): PathInput | null {
  if (!Buffer.isBuffer(p)) return null;
  const s = p.toString('utf8');
  if (Buffer.from(s, 'utf8').equals(p) || s.length === 0 || s.includes('\u0000')) return null;
  return { abs: path.resolve(s), shown: s, slash: false, dots: false, walk: undefined, fail: 'EILSEQ' };
}

/** PATH_MAX on Linux: a path (with its terminating NUL) must fit in 4096 bytes. */
export const PATH_MAX = 4096;

/** True when the path string is too long for any system call (ENAMETOOLONG). */
export function pathTooLong(s: string): boolean {
  // At most 3 UTF-8 bytes per UTF-16 unit: 1365 units are at most 4095 bytes.
  return s.length >= PATH_MAX || (s.length > 1365 && Buffer.byteLength(s) >= PATH_MAX);
}

/** True when the path has a `..` component. */
export function hasDotDot(s: string): boolean {
  return /(^|\/)\.\.(\/|$)/.test(s);
}

/**
 * Node's own test for a URL argument (lib/internal/url.js isURL): by shape, not `instanceof
 * URL`, so a URL made in another realm (a vm context, jest's sandbox) is one too.
 */
function isURL(p: unknown): p is URL {
  const u = p as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null;
  return Boolean(u?.href && u.protocol && u.auth === undefined && u.path === undefined);
}

/** An absolute path already in normal form (its own path.resolve()). */
export function isNormalAbsolute(s: string): boolean {
  const n = s.length;
  if (s.charCodeAt(0) !== 47 || n < 2 || s.charCodeAt(n - 1) === 47) return false;
  for (let i = 0; i !== -1; i = s.indexOf('/', i + 1)) {
    const c = s.charCodeAt(i + 1);
    if (c === 47) return false;
    // '/.' starts a '.' or '..' component (which needs path.resolve) or a dot-name (which does not).
    if (c === 46) {
      const d = s.charCodeAt(i + 2);
      if (Number.isNaN(d) || d === 47 || (d === 46 && (i + 3 === n || s.charCodeAt(i + 3) === 47))) return false;
    }
  }
  return true;
}

/** True when `abs` is `root` or lies under it. */
export function isAtOrUnder(abs: string, root: string): boolean {
  if (root === '/') return true;
  return abs === root || (abs.startsWith(root) && abs.charCodeAt(root.length) === 47);
}

/** `abs` relative to `root` ('' for the root itself); abs must be at or under root. */
export function relativeTo(abs: string, root: string): string {
  if (abs === root) return '';
  return root === '/' ? abs.slice(1) : abs.slice(root.length + 1);
}

export function joinRel(root: string, rel: string): string {
  return rel === '' ? root : root === '/' ? '/' + rel : root + '/' + rel;
}
