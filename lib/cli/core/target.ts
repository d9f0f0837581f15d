/**
 * Which overlay a command works on: from the layer flags, or else from the configuration that
 * patch() without arguments reads (lib/config.ts), so a project's overlay-fs.config.json
 * serves the program and the command alike.
 */
import * as path from 'path';
import * as fs from 'fs';
import { createOverlay } from '../../overlay';
import { loadConfig, type ConfiguredOverlay } from '../../config';
import type { Overlay } from '../../types';
import { str, type Context } from './command';
import { CliError, usageError } from './errors';

export interface LayerView {
  /** 0 is the top of the stack, as in ov.which(). */
  readonly index: number;
  readonly role: 'upper' | 'lower';
  /** Position in the `lower` list (lower[0] is the highest lower), null for the upper. */
  readonly lowerIndex: number | null;
  readonly root: string;
  /** How to name it to the user: relative to the current directory when inside it. */
  readonly label: string;
}

export interface Target {
  readonly ov: Overlay;
  readonly layers: readonly LayerView[];
  /** Where the layers came from: "flags", or the config file / environment variable. */
  readonly source: string;
}

export interface PickOptions {
  /** `mount <mountpoint>`: mount this overlay here (also selects it in a multi-overlay config). */
  readonly mountpoint?: string;
}

function label(root: string, cwd: string): string {
  // Layer roots are real paths (the engine resolves symlinks), so compare with the real cwd too.
  let realCwd = cwd;
  try { realCwd = fs.realpathSync(cwd); } catch { /* keep cwd */ }
  for (const base of [cwd, realCwd]) {
    const rel = path.relative(base, root);
    if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) return rel;
  }
  return root;
}

function requireDir(flagName: string, value: string, cwd: string): string {
  const abs = path.resolve(cwd, value);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch {
    throw new CliError(`${flagName} ${value}: no such directory`);
  }
  if (!st.isDirectory()) throw new CliError(`${flagName} ${value}: not a directory`);
  return abs;
}

function fromFlags(ctx: Context, pick: PickOptions): ConfiguredOverlay {
  const v = ctx.values;
  const lower = (v.lower as string[] | undefined) ?? [];
  if (lower.length === 0) throw usageError('--upper and --workdir need at least one --lower');
  const mount = pick.mountpoint ?? str(v, 'mount');
  if (!mount) throw usageError('--mount is missing (the merged directory the layers appear at)');
  const upper = str(v, 'upper');
  const workdir = str(v, 'workdir');
  if (workdir !== undefined && upper === undefined) throw usageError('--workdir needs --upper (a read-only stack has no work directory)');
  return {
    options: {
      mountpoint: path.resolve(ctx.cwd, mount),
      lower: lower.map((l) => requireDir('--lower', l, ctx.cwd)),
      ...(upper !== undefined && { upper: requireDir('--upper', upper, ctx.cwd) }),
      ...(workdir !== undefined && { workdir: path.resolve(ctx.cwd, workdir) }),
    },
    source: 'flags',
    field: '',
  };
}

/** Every configured overlay (a config may list several); flags give exactly one. */
export function configuredOverlays(ctx: Context, pick: PickOptions = {}): ConfiguredOverlay[] {
  const v = ctx.values;
  const layerFlags = ['upper', 'lower', 'workdir'].filter((k) => v[k] !== undefined);
  const config = str(v, 'config');
  if (config !== undefined && layerFlags.length > 0) {
    throw usageError(`--config and --${layerFlags[0]} both give the layers; use one or the other`);
  }
  if (layerFlags.length > 0) return [fromFlags(ctx, pick)];
  let env = ctx.env;
  if (config !== undefined) {
    const file = path.resolve(ctx.cwd, config);
    if (!fs.existsSync(file)) throw new CliError(`--config ${config}: no such file`);
    env = { ...ctx.env, OVERLAY_FS_CONFIG: file, OVERLAY_FS_OPTIONS: undefined, OVERLAY_FS_MOUNTPOINT: undefined };
  }
  try {
    return [...loadConfig({ env, cwd: ctx.cwd }).overlays];
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_OVERLAY_NO_CONFIG') {
      throw new CliError(`no layers given: pass --mount and --lower (and --upper), or --config FILE, or add an overlay-fs.config.json (none found from ${ctx.cwd} up)`);
    }
    throw err;
  }
}

function choose(all: ConfiguredOverlay[], ctx: Context, pick: PickOptions): ConfiguredOverlay {
  const wanted = str(ctx.values, 'mount') ?? pick.mountpoint;
  const list = () => all.map((o) => o.options.mountpoint).join(', ');
  if (wanted !== undefined) {
    const abs = path.resolve(ctx.cwd, wanted);
    const found = all.find((o) => o.options.mountpoint === abs);
    if (found) return found;
    // `mount <dir>` with a one-overlay config mounts that overlay at <dir>.
    if (pick.mountpoint !== undefined && all.length === 1) return all[0];
    throw new CliError(`${all[0].source} has no overlay with mountpoint ${abs} (it has: ${list()})`);
  }
  if (all.length === 1) return all[0];
  throw new CliError(`${all[0].source} lists ${all.length} overlays (mountpoints ${list()}); pick one with --mount`);
}

/** Overlays opened for the command being run, closed when it ends (closeTargets). */
const opened: Overlay[] = [];

/** Close the overlays openTarget made (the command is over). */
export function closeTargets(): void {
  for (const ov of opened.splice(0)) ov.close();
}

export function openTarget(ctx: Context, pick: PickOptions = {}): Target {
  const all = configuredOverlays(ctx, pick);
  const chosen = choose(all, ctx, pick);
  const options = pick.mountpoint !== undefined ? { ...chosen.options, mountpoint: path.resolve(ctx.cwd, pick.mountpoint) } : chosen.options;
  let ov: Overlay;
  try {
    ov = createOverlay(options);
    opened.push(ov);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (chosen.source !== 'flags' && typeof e.code === 'string' && e.code.startsWith('ERR_OVERLAY_')) {
      e.message = `${e.message} (configured in ${chosen.source}${chosen.field ? ' ' + chosen.field : ''})`;
    }
    throw err;
  }
  const layers: LayerView[] = [];
  if (ov.upper) layers.push({ index: 0, role: 'upper', lowerIndex: null, root: ov.upper, label: label(ov.upper, ctx.cwd) });
  ov.lower.forEach((root, i) => layers.push({ index: layers.length, role: 'lower', lowerIndex: i, root, label: label(root, ctx.cwd) }));
  return { ov, layers, source: chosen.source };
}

/** "upper" or "lower 1": the layer's place in the stack, for tables. */
export function roleName(l: LayerView): string {
  return l.role === 'upper' ? 'upper' : `lower ${l.lowerIndex}`;
}
