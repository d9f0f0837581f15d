/**
 * Path arguments name places in the merged view. An absolute path must lie under the
 * mountpoint. A relative one is taken from the current directory when that lands under the
 * mountpoint (`overlay-fs ls site/css` run beside `site`), and otherwise from the mountpoint
 * itself (`overlay-fs ls css`), so both ways of naming a merged path work.
 */
import * as path from 'path';
import { isAtOrUnder } from '../../paths';
import { CliError } from './errors';

export function mergedPath(mountpoint: string, arg: string | undefined, cwd: string): string {
  if (arg === undefined || arg === '') return mountpoint;
  if (path.isAbsolute(arg)) {
    const abs = path.resolve(arg);
    if (!isAtOrUnder(abs, mountpoint)) throw new CliError(`${arg} is not under the mountpoint ${mountpoint}`);
    return abs;
  }
  const fromCwd = path.resolve(cwd, arg);
  if (isAtOrUnder(fromCwd, mountpoint)) return fromCwd;
  const fromMount = path.resolve(mountpoint, arg);
  if (!isAtOrUnder(fromMount, mountpoint)) throw new CliError(`${arg} is not under the mountpoint ${mountpoint}`);
  return fromMount;
}

/** Path relative to the mountpoint ('' for the mountpoint itself). */
export function relOf(mountpoint: string, abs: string): string {
  return path.relative(mountpoint, abs);
}

/** How to show a merged path: relative to the mountpoint, '.' for the root. */
export function shown(rel: string): string {
  return rel === '' ? '.' : rel;
}
