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
  return { abs: path.resolve(s), shown: s, slash: /\/\.?$/.test(s) && s !== '/', dots: /(^|\/)\.\.?\/*$/.test(s) };
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
