/** Turning Node path arguments (string, Buffer, file: URL) into absolute strings. */
import * as path from 'path';
import { fileURLToPath } from 'url';

export interface PathInput {
  /** Absolute, normalised path. */
  abs: string;
  /** The caller's path as Node shows it in errors (relative paths stay relative). */
  shown: string;
  /** The argument ended with a slash: the final component must be a directory. */
  slash: boolean;
  /** The final component is `.` or `..` (rename, rmdir, unlink and mkdir treat those specially). */
  dots?: boolean;
}

/**
 * Parse a path argument, or return null when it is not a valid path-like: the caller then
 * hands the untouched arguments to Node's own function, which throws Node's exact error.
 */
export function parsePath(p: unknown): PathInput | null {
  let s: string;
  if (typeof p === 'string') s = p;
  else if (Buffer.isBuffer(p)) {
    s = p.toString('utf8');
    if (!Buffer.from(s, 'utf8').equals(p)) return null; // invalid UTF-8: leave to Node
  } else if (p instanceof URL) {
    if (p.protocol !== 'file:') return null;
    try { s = fileURLToPath(p); } catch { return null; }
  } else return null;
  if (s.length === 0 || s.includes('\u0000')) return null;
  // Fast path: an absolute path already in normal form (no '//', no '.' or '..' component, no
  // trailing slash) is its own path.resolve(); checked by scanning for '/' followed by '/' or '.'.
  if (isNormalAbsolute(s)) return { abs: s, shown: s, slash: false, dots: false };
  return { abs: path.resolve(s), shown: s, slash: /\/\.?$/.test(s) && s !== '/', dots: /(^|\/)\.\.?\/*$/.test(s) };
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
