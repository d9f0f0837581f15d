/**
 * Where patch() with no argument (and the -r/--import preload) finds its overlays. In order:
 *
 * 1. `OVERLAY_FS_CONFIG`: a JSON string (starts with `{` or `[`; relative paths resolve against
 *    the current directory) or the path of a JSON file (relative paths in it resolve against
 *    that file's directory; a package.json path means its "overlay-fs" key).
 * 2. `OVERLAY_FS_OPTIONS` + `OVERLAY_FS_MOUNTPOINT`: a kernel-style option string and the
 *    mountpoint, relative to the current directory. Setting this and 1 at once is an error.
 * 3. Walking up from the current directory: in each directory `overlay-fs.config.json`, then
 *    the "overlay-fs" key of `package.json`; the first directory that has either wins, so the
 *    configuration nearest to the program applies (as with eslint or prettier).
 *
 * Nothing found is ERR_OVERLAY_NO_CONFIG, never a silent no-op: a preload that quietly did
 * nothing would let tools read and write the bare layers. Only reads happen here.
 */
import * as path from 'path';
import { real } from './real-fs';
import { overlaysFrom, configError, type ConfiguredOverlay, type ConfigSource } from './config-entry';
import { OverlayError } from './errors';

export type { ConfiguredOverlay } from './config-entry';

export const CONFIG_FILE = 'overlay-fs.config.json';
export const PACKAGE_KEY = 'overlay-fs';

export interface LoadedConfig {
  /** The file (or environment variable) the overlays came from. */
  readonly source: string;
  readonly overlays: readonly ConfiguredOverlay[];
}

export interface ConfigEnvironment {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

function readJson(file: string, name: string): { found: false } | { found: true; value: unknown } {
  let text: string;
  try {
    text = real.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return { found: false };
    throw configError('ERR_OVERLAY_INVALID_CONFIG', name, '', `cannot be read (${code ?? (err as Error).message})`);
  }
  try {
    return { found: true, value: JSON.parse(text) };
  } catch (err) {
    throw configError('ERR_OVERLAY_INVALID_CONFIG', name, '', `is not valid JSON (${(err as Error).message})`);
  }
}

/** The "overlay-fs" key of a parsed package.json, or undefined when it has none. */
function packageKey(value: unknown): unknown {
  if (value && typeof value === 'object' && !Array.isArray(value) && Object.prototype.hasOwnProperty.call(value, PACKAGE_KEY)) {
    return (value as Record<string, unknown>)[PACKAGE_KEY];
  }
  return undefined;
}

function fromFile(file: string, name: string, mustExist: boolean): LoadedConfig | null {
  const json = readJson(file, name);
  if (!json.found) {
    if (mustExist) throw configError('ERR_OVERLAY_INVALID_CONFIG', name, '', `file ${file} does not exist`);
    return null;
  }
  const base = path.dirname(file);
  if (path.basename(file) === 'package.json') {
    const value = packageKey(json.value);
    if (value === undefined) {
      if (mustExist) throw configError('ERR_OVERLAY_INVALID_CONFIG', name, '', `${file} has no "${PACKAGE_KEY}" key`);
      return null;
    }
    return { source: file, overlays: overlaysFrom(value, { name: file, base, prefix: `"${PACKAGE_KEY}"` }) };
  }
  return { source: file, overlays: overlaysFrom(json.value, { name: file, base, prefix: '' }) };
}

function fromEnvironment(env: NodeJS.ProcessEnv, cwd: string): LoadedConfig | null {
  const config = env.OVERLAY_FS_CONFIG;
  const options = env.OVERLAY_FS_OPTIONS;
  const mountpoint = env.OVERLAY_FS_MOUNTPOINT;
  const hasKernelStyle = Boolean(options) || Boolean(mountpoint);
  if (config) {
    if (hasKernelStyle) {
      throw configError('ERR_OVERLAY_INVALID_CONFIG', 'the environment', 'OVERLAY_FS_CONFIG', 'is set together with OVERLAY_FS_OPTIONS/OVERLAY_FS_MOUNTPOINT; set one or the other');
    }
    const text = config.trim();
    if (text.startsWith('{') || text.startsWith('[')) {
      const name = 'OVERLAY_FS_CONFIG (JSON)';
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        throw configError('ERR_OVERLAY_INVALID_CONFIG', name, '', `is not valid JSON (${(err as Error).message})`);
      }
      const src: ConfigSource = { name, base: cwd, prefix: '' };
      return { source: name, overlays: overlaysFrom(value, src) };
    }
    const file = path.resolve(cwd, text);
    return fromFile(file, `OVERLAY_FS_CONFIG=${file}`, true);
  }
  if (hasKernelStyle) {
    if (!options) throw configError('ERR_OVERLAY_INVALID_CONFIG', 'the environment', 'OVERLAY_FS_OPTIONS', 'is missing (OVERLAY_FS_MOUNTPOINT needs it)');
    if (!mountpoint) throw configError('ERR_OVERLAY_INVALID_CONFIG', 'the environment', 'OVERLAY_FS_MOUNTPOINT', 'is missing (OVERLAY_FS_OPTIONS needs it)');
    const name = 'OVERLAY_FS_OPTIONS';
    return { source: name, overlays: overlaysFrom({ mountpoint, options }, { name, base: cwd, prefix: '' }) };
  }
  return null;
}

function discover(cwd: string): LoadedConfig | null {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const found = fromFile(path.join(dir, CONFIG_FILE), path.join(dir, CONFIG_FILE), false) ?? fromFile(path.join(dir, 'package.json'), path.join(dir, 'package.json'), false);
    if (found) return found;
    if (path.dirname(dir) === dir) return null;
  }
}

/** The configured overlays, shape-checked, with absolute paths. Reads only. */
export function loadConfig({ env = process.env, cwd = process.cwd() }: ConfigEnvironment = {}): LoadedConfig {
  const found = fromEnvironment(env, cwd) ?? discover(cwd);
  if (found) return found;
  throw new OverlayError(
    'ERR_OVERLAY_NO_CONFIG',
    `overlay-fs: no configuration found: patch() without options (and the overlay-fs/register preload) needs OVERLAY_FS_CONFIG, OVERLAY_FS_OPTIONS with OVERLAY_FS_MOUNTPOINT, an ${CONFIG_FILE} file, or an "${PACKAGE_KEY}" key in package.json, in ${cwd} or a directory above it`,
  );
}
