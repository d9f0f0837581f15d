/**
 * Kernel-style overlay option strings, as given to `mount -t overlay -o ...`:
 *
 *   lowerdir=theme:base,upperdir=site.local,workdir=.site.work
 *
 * so that people who already have a mount line can reuse it. `lowerdir` lists the read-only
 * layers highest first (the kernel's order, and ours); a backslash escapes `:`, `,` and `\`
 * inside a path, as it does for the kernel. The kernel's optional features are not emulated,
 * so they are accepted only when switched off (the behaviour overlay-fs has anyway); anything
 * else is refused by name rather than silently ignored.
 */

export interface MountOptions {
  lower: string[];
  upper?: string;
  workdir?: string;
}

/** Kernel options whose "off" value describes exactly what overlay-fs does. */
const OFF_ONLY = new Set(['index', 'metacopy', 'redirect_dir', 'nfs_export', 'xino']);

export class MountOptionsError extends Error {
  constructor(message: string, readonly option?: string) {
    super(message);
  }
}

/** Split on an unescaped separator; escapes are kept for the next level to remove. */
function splitEscaped(text: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && i + 1 < text.length) {
      cur += c + text[i + 1];
      i++;
    } else if (c === sep) {
      parts.push(cur);
      cur = '';
    } else cur += c;
  }
  parts.push(cur);
  return parts;
}

const unescape = (s: string): string => s.replace(/\\(.)/g, '$1');

/** Parse an option string; relative paths are left relative (the caller knows the base). */
export function parseMountOptions(text: string): MountOptions {
  if (typeof text !== 'string' || text.trim() === '') throw new MountOptionsError('is empty; it needs at least lowerdir=...');
  const seen = new Set<string>();
  const out: Partial<MountOptions> = {};
  for (const item of splitEscaped(text.trim(), ',')) {
    if (item === '') throw new MountOptionsError('has an empty item (two commas in a row?)');
    const eq = item.indexOf('=');
    const key = eq === -1 ? item : item.slice(0, eq);
    const value = eq === -1 ? undefined : item.slice(eq + 1);
    if (seen.has(key)) throw new MountOptionsError(`gives "${key}" twice`, key);
    seen.add(key);
    switch (key) {
      case 'lowerdir': {
        const dirs = splitEscaped(value ?? '', ':').map(unescape);
        if (dirs.some((d) => d === '')) throw new MountOptionsError('lowerdir needs one or more directories separated by ":", with none empty', key);
        out.lower = dirs;
        break;
      }
      case 'upperdir':
      case 'workdir':
        if (!value) throw new MountOptionsError(`${key} needs a directory (${key}=path)`, key);
        if (key === 'upperdir') out.upper = unescape(value);
        else out.workdir = unescape(value);
        break;
      default:
        if (OFF_ONLY.has(key) && value === 'off') break;
        throw new MountOptionsError(
          `has "${item}", which overlay-fs does not support (it understands lowerdir, upperdir and workdir; ${[...OFF_ONLY].join(', ')} only as =off)`,
          key,
        );
    }
  }
  if (!out.lower) throw new MountOptionsError('has no lowerdir=...', 'lowerdir');
  if (out.workdir !== undefined && out.upper === undefined) throw new MountOptionsError('gives workdir without upperdir', 'workdir');
  return out as MountOptions;
}
