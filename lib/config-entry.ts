/**
 * One configuration value (from a config file, package.json or an environment variable) turned
 * into overlay options. Only the shape is checked here, and relative paths are made absolute
 * against the source's base directory; whether the directories exist is checked later by
 * normalizeOptions, before anything is installed.
 *
 * A value is one overlay or an array of overlays. An overlay is either
 *   { "mountpoint": "site", "upper": "site.local", "lower": ["theme", "base"], "workdir": "..." }
 * or, with a kernel-style option string,
 *   { "mountpoint": "site", "options": "lowerdir=theme:base,upperdir=site.local" }
 * Either form may add "cache": false (every lookup asks the file system; see OverlayOptions).
 */
import * as path from 'path';
import { OverlayError } from './errors';
import { parseMountOptions, MountOptionsError } from './mount-options';
import type { OverlayOptions } from './types';

/** Where a configuration value came from. */
export interface ConfigSource {
  /** What to name in errors: a file path, or an environment variable. */
  readonly name: string;
  /** Relative paths resolve against this directory. */
  readonly base: string;
  /** Field-name prefix, e.g. `"overlay-fs"` for the package.json key. */
  readonly prefix: string;
}

export interface ConfiguredOverlay {
  /** Absolute paths only. */
  readonly options: OverlayOptions & { mountpoint: string };
  /** The source's name. */
  readonly source: string;
  /** The field that holds this overlay, e.g. `[1]` ('' for a lone overlay). */
  readonly field: string;
}

/** An OverlayError that also says which file (or variable) and which field is wrong. */
export type ConfigError = OverlayError & { source: string; field: string };

export function configError(code: 'ERR_OVERLAY_INVALID_CONFIG', source: string, field: string, message: string): ConfigError {
  const where = field ? `${source} (${field})` : source;
  return Object.assign(new OverlayError(code, `overlay-fs: invalid configuration in ${where}: ${message}`), { source, field });
}

const ENTRY_KEYS = ['mountpoint', 'upper', 'lower', 'workdir', 'options', 'cache'];

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v);
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;
}

export function overlaysFrom(value: unknown, src: ConfigSource): ConfiguredOverlay[] {
  const fieldOf = (sub: string) => src.prefix + sub;
  if (Array.isArray(value)) {
    if (value.length === 0) throw configError('ERR_OVERLAY_INVALID_CONFIG', src.name, fieldOf(''), 'the list of overlays is empty');
    const overlays = value.map((v, i) => entry(v, src, fieldOf(`[${i}]`)));
    const seen = new Map<string, string>();
    for (const o of overlays) {
      const other = seen.get(o.options.mountpoint);
      if (other !== undefined) throw configError('ERR_OVERLAY_INVALID_CONFIG', src.name, `${o.field}.mountpoint`, `mountpoint ${o.options.mountpoint} is also the mountpoint of ${other}`);
      seen.set(o.options.mountpoint, o.field);
    }
    return overlays;
  }
  return [entry(value, src, fieldOf(''))];
}

function entry(value: unknown, src: ConfigSource, field: string): ConfiguredOverlay {
  const bad = (sub: string, message: string) => configError('ERR_OVERLAY_INVALID_CONFIG', src.name, field ? (sub ? `${field}.${sub}` : field) : sub || '(top level)', message);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw bad('', `an overlay must be an object with "mountpoint" and "lower" (or "options"), got ${describe(value)}`);
  }
  const o = value as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!ENTRY_KEYS.includes(key)) throw bad(key, `unknown field (known: ${ENTRY_KEYS.join(', ')})`);
  }
  const abs = (sub: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') throw bad(sub, `must be a non-empty path string, got ${describe(v)}`);
    return path.resolve(src.base, v);
  };
  if (o.mountpoint === undefined) throw bad('mountpoint', 'is missing');
  const mountpoint = abs('mountpoint', o.mountpoint);
  if (o.cache !== undefined && typeof o.cache !== 'boolean') throw bad('cache', `must be true or false, got ${describe(o.cache)}`);
  const cache = o.cache === undefined ? {} : { cache: o.cache as boolean };

  if (o.options !== undefined) {
    const mixed = ['upper', 'lower', 'workdir'].find((k) => o[k] !== undefined);
    if (mixed) throw bad(mixed, 'cannot be combined with "options" (give the layers one way)');
    if (typeof o.options !== 'string') throw bad('options', `must be a string like "lowerdir=a:b,upperdir=c", got ${describe(o.options)}`);
    let parsed;
    try {
      parsed = parseMountOptions(o.options);
    } catch (err) {
      if (err instanceof MountOptionsError) throw bad('options', `${JSON.stringify(o.options)} ${err.message}`);
      throw err;
    }
    return {
      options: {
        mountpoint,
        lower: parsed.lower.map((l) => path.resolve(src.base, l)),
        ...(parsed.upper !== undefined && { upper: path.resolve(src.base, parsed.upper) }),
        ...(parsed.workdir !== undefined && { workdir: path.resolve(src.base, parsed.workdir) }),
        ...cache,
      },
      source: src.name,
      field,
    };
  }

  if (o.lower === undefined) throw bad('lower', 'is missing (or give "options": "lowerdir=...")');
  let lower: string[];
  if (Array.isArray(o.lower)) {
    if (o.lower.length === 0) throw bad('lower', 'needs at least one directory');
    lower = o.lower.map((l, i) => abs(`lower[${i}]`, l));
  } else lower = [abs('lower', o.lower)];
  const options: OverlayOptions & { mountpoint: string } = { mountpoint, lower, ...cache };
  if (o.upper !== undefined && o.upper !== null) options.upper = abs('upper', o.upper);
  if (o.workdir !== undefined) options.workdir = abs('workdir', o.workdir);
  return { options, source: src.name, field };
}
