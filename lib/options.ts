/**
 * Validation and normalisation of overlay options. Every problem throws an OverlayError with a
 * stable code and a message naming the option and path, before anything touches the disk.
 */
import * as path from 'path';
import * as fs from 'fs';
import { real } from './real-fs';
import { OverlayError } from './errors';
import { parsePath, isAtOrUnder } from './paths';
import type { OverlayOptions, PathArg } from './types';

export interface NormalOptions {
  mountpoint: string;
  upper: string | null;
  lower: string[];
  workdir: string | null;
  cache: boolean;
}

const KNOWN = new Set(['mountpoint', 'upper', 'lower', 'workdir', 'cache']);

function toAbsolute(option: string, value: unknown): string {
  const parsed = parsePath(value as PathArg);
  if (!parsed) {
    throw new OverlayError('ERR_OVERLAY_INVALID_PATH', `overlay-fs: option "${option}" must be a path (string, Buffer or file: URL), got ${describe(value)}`);
  }
  return parsed.abs;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return typeof value;
}

function requireDirectory(option: string, dir: string): string {
  let st: fs.Stats;
  try {
    st = real.statSync(dir);
  } catch {
    throw new OverlayError('ERR_OVERLAY_LAYER_MISSING', `overlay-fs: option "${option}": directory ${dir} does not exist`);
  }
  if (!st.isDirectory()) {
    throw new OverlayError('ERR_OVERLAY_LAYER_NOT_DIRECTORY', `overlay-fs: option "${option}": ${dir} is not a directory`);
  }
  return real.realpathSync(dir);
}

export function normalizeOptions(options: OverlayOptions): NormalOptions {
  if (options === null || typeof options !== 'object') {
    throw new OverlayError('ERR_OVERLAY_INVALID_OPTIONS', 'overlay-fs: options must be an object with mountpoint, lower and optionally upper');
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new OverlayError('ERR_OVERLAY_UNKNOWN_OPTION', `overlay-fs: unknown option "${key}" (known: ${[...KNOWN].join(', ')})`);
    }
  }
  if (options.mountpoint === undefined) {
    throw new OverlayError('ERR_OVERLAY_MISSING_OPTION', 'overlay-fs: option "mountpoint" is required');
  }
  const mountpoint = toAbsolute('mountpoint', options.mountpoint);
  if (options.cache !== undefined && typeof options.cache !== 'boolean') {
    throw new OverlayError('ERR_OVERLAY_INVALID_OPTIONS', `overlay-fs: option "cache" must be true or false, got ${describe(options.cache)}`);
  }
  const cache = options.cache !== false;
  const lowerList = Array.isArray(options.lower) ? options.lower : options.lower === undefined ? [] : [options.lower];
  if (lowerList.length === 0) {
    throw new OverlayError('ERR_OVERLAY_MISSING_OPTION', 'overlay-fs: option "lower" needs at least one directory');
  }
  const lower = lowerList.map((l, i) => requireDirectory(`lower[${i}]`, toAbsolute(`lower[${i}]`, l)));
  const upper = options.upper === undefined || options.upper === null ? null : requireDirectory('upper', toAbsolute('upper', options.upper));

  const layers = upper ? [{ option: 'upper', dir: upper }, ...lower.map((dir, i) => ({ option: `lower[${i}]`, dir }))] : lower.map((dir, i) => ({ option: `lower[${i}]`, dir }));
  for (let i = 0; i < layers.length; i++) {
    for (let j = i + 1; j < layers.length; j++) {
      const a = layers[i];
      const b = layers[j];
      if (a.dir === b.dir) {
        throw new OverlayError('ERR_OVERLAY_DUPLICATE_LAYER', `overlay-fs: options "${a.option}" and "${b.option}" are the same directory ${a.dir}`);
      }
      if (upper && (a.dir === upper || b.dir === upper) && (isAtOrUnder(a.dir, b.dir) || isAtOrUnder(b.dir, a.dir))) {
        const [inner, outer] = isAtOrUnder(a.dir, b.dir) ? [a, b] : [b, a];
        throw new OverlayError('ERR_OVERLAY_LAYER_OVERLAP', `overlay-fs: option "${inner.option}" (${inner.dir}) lies inside "${outer.option}" (${outer.dir}); the upper and the lowers must be separate trees`);
      }
    }
  }

  let workdir: string | null = null;
  if (upper) {
    workdir = options.workdir !== undefined
      ? toAbsolute('workdir', options.workdir)
      : path.join(path.dirname(upper), `.${path.basename(upper)}.overlay-work`);
    for (const l of layers) {
      if (isAtOrUnder(workdir, l.dir) || isAtOrUnder(l.dir, workdir)) {
        throw new OverlayError('ERR_OVERLAY_WORKDIR_OVERLAP', `overlay-fs: option "workdir" (${workdir}) and "${l.option}" (${l.dir}) must be separate trees`);
      }
    }
    const probe = existingAncestor(workdir);
    if (real.statSync(probe).dev !== real.statSync(upper).dev) {
      throw new OverlayError('ERR_OVERLAY_WORKDIR_XDEV', `overlay-fs: option "workdir" (${workdir}) must be on the same file system as "upper" (${upper}) so that copy-up can rename atomically`);
    }
  } else if (options.workdir !== undefined) {
    throw new OverlayError('ERR_OVERLAY_INVALID_OPTIONS', 'overlay-fs: option "workdir" needs an "upper"');
  }
  return { mountpoint, upper, lower, workdir, cache };
}

function existingAncestor(p: string): string {
  let cur = p;
  for (;;) {
    try {
      real.statSync(cur);
      return cur;
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return cur;
      cur = parent;
    }
  }
}
