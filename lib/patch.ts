/**
 * patch(): installs overlays into Node's global fs, fs/promises (the same object, patched in
 * place) and CommonJS module loading, so unmodified programs see the merged views. Reversible:
 * the returned function removes the overlay, and the last removal restores the exact original
 * property descriptors. Several overlays may be active; the longest matching mountpoint wins.
 */
import fs = require('fs');
import path = require('path');
import Module = require('module');
import { buildFs, type MountTable } from './node/api';
import { original, originalPromises } from './real-fs';
import { createStack, releaseStack } from './layers/create';
import { isAtOrUnder } from './paths';
import { OverlayError } from './errors';
import { runSync } from './io';
import { resolve } from './router/resolve';
import { installCjsScopeHooks } from './loader/cjs';
import type { Stack } from './layers/stack';
import type { OverlayOptions } from './types';

interface Mount { stack: Stack; refs: number }
interface PatchState {
  mounts: Mount[];
  /** Undo steps of the installation, or null when not installed. */
  restore: Array<() => void> | null;
  warned: boolean;
}

// Shared through a global symbol so that two copies of overlay-fs in one process (or a second
// install from a preload) never wrap fs twice.
const STATE_KEY = Symbol.for('overlay-fs.patch-state');
const state: PatchState = ((globalThis as any)[STATE_KEY] ??= { mounts: [], restore: null, warned: false });

const table: MountTable = {
  find(abs: string): Stack | null {
    for (const m of state.mounts) if (isAtOrUnder(abs, m.stack.mount)) return m.stack;
    return null;
  },
};

function sameLayers(a: Stack, b: Stack): boolean {
  return a.work === b.work && a.layers.length === b.layers.length && a.layers.every((l, i) => l.root === b.layers[i].root && l.role === b.layers[i].role);
}

/** Install one overlay's stack; returns its removal. */
export function patchStack(stack: Stack): () => void {
  let mount = state.mounts.find((m) => m.stack.mount === stack.mount);
  if (mount) {
    if (!sameLayers(mount.stack, stack)) {
      throw new OverlayError('ERR_OVERLAY_MOUNTPOINT_BUSY', `overlay-fs: mountpoint ${stack.mount} is already patched with other layers; unpatch it first`);
    }
    mount.refs++;
  } else {
    mount = { stack, refs: 1 };
    state.mounts.push(mount);
    state.mounts.sort((a, b) => b.stack.mount.length - a.stack.mount.length);
  }
  if (!state.restore) install();
  let removed = false;
  const m = mount;
  return function unpatch(): void {
    if (removed) return;
    removed = true;
    if (--m.refs > 0) return;
    state.mounts = state.mounts.filter((x) => x !== m);
    if (state.mounts.length === 0) uninstall();
  };
}

/**
 * Install an overlay into Node's fs. With no argument the configuration comes from the
 * environment or a config file (see config.ts).
 */
export function patch(options?: OverlayOptions): () => void {
  if (options === undefined) {
    // Required lazily: patch-config.ts imports this module.
    const { loadConfig } = require('./config') as typeof import('./config');
    const { patchOverlays } = require('./patch-config') as typeof import('./patch-config');
    return patchOverlays(loadConfig().overlays);
  }
  return patchOwnStack(createStack(options));
}

/** Install a stack made for this patch alone: removing the patch releases the stack too. */
export function patchOwnStack(stack: Stack): () => void {
  let unpatch: () => void;
  try {
    unpatch = patchStack(stack);
  } catch (err) {
    releaseStack(stack);
    throw err;
  }
  return function unpatchAndRelease(): void {
    unpatch();
    releaseStack(stack);
  };
}

/** Whether any overlay is installed into the global fs. */
export function isPatched(): boolean {
  return state.restore !== null;
}

/** The mountpoints installed in this thread, longest first (for the module loader hooks). */
export function mountpoints(): string[] {
  return state.mounts.map((m) => m.stack.mount);
}

/** Code may inspect name, length and own symbols (util.promisify's): give replacements the original's. */
function keepShape(fn: any, orig: any): void {
  Object.defineProperty(fn, 'name', { value: orig.name, configurable: true });
  Object.defineProperty(fn, 'length', { value: orig.length, configurable: true });
  for (const sym of Object.getOwnPropertySymbols(orig)) {
    if (!Object.prototype.hasOwnProperty.call(fn, sym)) Object.defineProperty(fn, sym, Object.getOwnPropertyDescriptor(orig, sym)!);
  }
  if (typeof orig.native === 'function' && typeof fn.native === 'function' && fn.native !== orig.native) keepShape(fn.native, orig.native);
}

function replace(target: any, key: string, value: unknown, undo: Array<() => void>): void {
  const before = Object.getOwnPropertyDescriptor(target, key);
  if (typeof value === 'function' && typeof before?.value === 'function') keepShape(value, before.value);
  Object.defineProperty(target, key, { value, writable: true, configurable: true, enumerable: before?.enumerable ?? true });
  undo.push(() => {
    if (before) Object.defineProperty(target, key, before);
    else delete target[key];
  });
}

/** Set an experimental Module hook without printing Node's ExperimentalWarning. */
function setModuleHook(key: string, value: unknown): void {
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, warning: unknown, ...rest: unknown[]) {
    const text = String(typeof warning === 'object' && warning ? (warning as Error).message : warning);
    if (text.includes(`Module.${key}`)) return;
    return (emit as any).call(process, warning, ...rest);
  } as typeof process.emitWarning;
  try {
    (Module as any)[key] = value;
  } finally {
    process.emitWarning = emit;
  }
}

const PREPATCHED = ['graceful-fs', 'fs-extra'];

function warnAboutEarlyClones(): void {
  if (state.warned) return;
  const names = new Set<string>();
  for (const id of Object.keys(require.cache)) {
    for (const lib of PREPATCHED) if (id.includes(`${path.sep}node_modules${path.sep}${lib}${path.sep}`)) names.add(lib);
  }
  if (names.size === 0) return;
  state.warned = true;
  process.emitWarning(
    `${[...names].join(' and ')} was loaded before overlay-fs patched fs; its copy of fs does not see the overlay. Load overlay-fs first (node -r overlay-fs/register).`,
    { code: 'OVERLAY_FS_EARLY_CLONE' } as any,
  );
}

function install(): void {
  warnAboutEarlyClones();
  // Read Node 20's lazy accessors first, or a clone taken earlier could write the originals back.
  void fs.opendir; void fs.opendirSync; void fs.Dir;
  const api = buildFs(table) as any;
  const undo: Array<() => void> = [];
  for (const key of Object.getOwnPropertyNames(api)) {
    if (key === 'promises') continue;
    const value = Object.getOwnPropertyDescriptor(api, key)!.value;
    if (typeof value === 'function' && value !== (original as any)[key]) replace(fs, key, value, undo);
  }
  for (const key of Object.keys(api.promises)) {
    if (api.promises[key] !== originalPromises[key]) replace(fs.promises, key, api.promises[key], undo);
  }
  installModuleHooks(api, undo);
  state.restore = undo;
  (Module as any).syncBuiltinESMExports();
}

function uninstall(): void {
  const undo = state.restore;
  state.restore = null;
  if (!undo) return;
  for (const step of undo.reverse()) step();
  (Module as any).syncBuiltinESMExports();
}

/** CommonJS loading: the loader's stat and package.json reader bypass fs, so hook them. */
function installModuleHooks(api: typeof fs, undo: Array<() => void>): void {
  const M = Module as any;
  const prevStat = M._stat;
  const prevReadPackage = M._readPackage;
  const prevNode = M._extensions['.node'];
  setModuleHook('_stat', function stat(filename: string): number {
    if (!table.find(path.resolve(filename))) return prevStat(filename);
    // Node's internal stat answers a negative errno for any failure (ENOENT, ENOTDIR, ...).
    let st: fs.Stats | undefined;
    try {
      st = api.statSync(filename, { throwIfNoEntry: false });
    } catch (err) {
      const errno = (err as { errno?: unknown }).errno;
      return typeof errno === 'number' && errno < 0 ? errno : -2;
    }
    return st ? (st.isDirectory() ? 1 : 0) : -2;
  });
  setModuleHook('_readPackage', function readPackage(requestPath: string) {
    const jsonPath = path.resolve(requestPath, 'package.json');
    if (!table.find(jsonPath)) return prevReadPackage(requestPath);
    return readPackageJson(api, jsonPath);
  });
  M._extensions['.node'] = function loadAddon(module: unknown, filename: string) {
    const stack = table.find(path.resolve(filename));
    if (!stack) return prevNode(module, filename);
    // dlopen needs a real file: give it the serving layer's file.
    const res = runSync(resolve(stack, path.resolve(filename), true));
    return prevNode(module, res.kind === 'external' ? res.real : res.found ? res.found.real : filename);
  };
  installCjsScopeHooks(api, (abs) => table.find(abs) !== null, undo);
  undo.push(() => {
    setModuleHook('_stat', prevStat);
    setModuleHook('_readPackage', prevReadPackage);
    M._extensions['.node'] = prevNode;
  });
}

/** The shape of Node 20's internal package.json record, read through the merged view. */
function readPackageJson(api: typeof fs, jsonPath: string): Record<string, unknown> {
  const result: Record<string, unknown> = { __proto__: null, exists: false, pjsonPath: jsonPath, main: undefined, name: undefined, type: 'none', exports: undefined, imports: undefined };
  let text: string;
  try {
    text = api.readFileSync(jsonPath, 'utf8');
  } catch {
    return result;
  }
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    (err as Error).message = 'Error parsing ' + jsonPath + ': ' + (err as Error).message;
    (err as any).path = jsonPath;
    throw err;
  }
  result.exists = true;
  const own = (k: string) => Object.prototype.hasOwnProperty.call(parsed, k);
  if (own('name') && typeof parsed.name === 'string') result.name = parsed.name;
  if (own('main') && typeof parsed.main === 'string') result.main = parsed.main;
  if (own('exports')) result.exports = parsed.exports;
  if (own('imports')) result.imports = parsed.imports;
  if (own('type') && (parsed.type === 'commonjs' || parsed.type === 'module')) result.type = parsed.type;
  return result;
}
