/** Node-style fs errors, and the overlay's own option errors with stable codes. */
import * as os from 'os';
import * as util from 'util';

/** Marks errors the overlay made itself (their path/dest are always filled from the caller). */
export const OWN = Symbol('overlay-fs.own-error');
/** Marks an error whose path an operation chose itself (Node names a path other than the argument). */
const PINNED = Symbol('overlay-fs.pinned-path');

const errnos = os.constants.errno as Record<string, number>;
const messages = (util as any).getSystemErrorMap?.() as Map<number, [string, string]> | undefined;

function describe(code: string): { errno: number; text: string } {
  const n = errnos[code];
  const errno = n === undefined ? 0 : -n;
  const text = messages?.get(errno)?.[1] ?? code.toLowerCase();
  return { errno, text };
}

export interface FsError extends Error {
  errno?: number;
  code: string;
  syscall?: string;
  path?: string;
  dest?: string;
  [OWN]?: boolean;
}

/** An errno error like the ones Node's fs throws; path and dest are filled in by the adapter. */
export function fsError(code: string, syscall: string): FsError {
  const { errno, text } = describe(code);
  const err = new Error(`${code}: ${text}, ${syscall}`) as FsError;
  err.errno = errno;
  err.code = code;
  err.syscall = syscall;
  err[OWN] = true;
  return err;
}

/**
 * Re-express an error with the caller's paths, formatted as Node formats them.
 * `path` null: the error names no path (as some of Node's own errors do not).
 */
export function withPaths(err: unknown, path: string | null | undefined, dest: string | undefined): unknown {
  if (!err || typeof err !== 'object') return err;
  const e = err as FsError;
  if (typeof e.code !== 'string' || !/^E[A-Z0-9]+$/.test(e.code)) return err;
  const own = e[OWN] === true;
  const hadPath = own || e.path !== undefined;
  if (!hadPath) return err;
  if ((e as any)[PINNED]) path = e.path;
  if (path === null) delete e.path;
  else if (path !== undefined) e.path = path;
  if (dest !== undefined && (own || e.dest !== undefined)) e.dest = dest;
  else if (own) delete e.dest;
  const { text } = describe(e.code);
  let message = `${e.code}: ${text}, ${e.syscall ?? ''}`;
  if (e.path !== undefined) message += ` '${e.path}'`;
  if (e.dest !== undefined) message += ` -> '${e.dest}'`;
  const reason = (e as { reason?: string }).reason;
  if (reason) message += ` (${reason})`;
  e.message = message;
  return err;
}

/** Name `path` in this error, whatever the caller's argument was. */
export function pinPath(err: unknown, path: string): unknown {
  if (err && typeof err === 'object') {
    (err as FsError).path = path;
    (err as any)[PINNED] = true;
    withPaths(err, path, (err as FsError).dest);
  }
  return err;
}

/** Errors about overlay options and misuse: stable `code`, message naming option and path. */
export class OverlayError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'OverlayError';
    this.code = code;
  }
}
