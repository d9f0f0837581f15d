/**
 * Registering the ESM hooks (module.register, Node 20.6+), once per thread. The overlays go to
 * the hooks thread as `data`: that thread does not share this thread's patched fs.
 */
import Module = require('module');
import * as path from 'path';
import { pathToFileURL } from 'url';
import { OverlayError } from '../errors';
import type { OverlayOptions } from '../types';
import type { HooksData } from './hooks';

const REGISTERED = Symbol.for('overlay-fs.loader-registered');

/** Returns false when this thread already has the hooks. */
export function registerLoader(overlays: OverlayOptions[]): boolean {
  const g = globalThis as Record<symbol, unknown>;
  if (g[REGISTERED]) return false;
  const register = (Module as unknown as { register?: (specifier: string, options: { data: HooksData }) => void }).register;
  if (typeof register !== 'function') {
    throw new OverlayError('ERR_OVERLAY_NO_LOADER_HOOKS', `overlay-fs: ES module support needs module.register(), which Node ${process.version} does not have (Node 20.6 or later)`);
  }
  register(pathToFileURL(path.join(__dirname, 'hooks.js')).href, { data: { overlays } });
  g[REGISTERED] = true;
  return true;
}
