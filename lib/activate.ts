/**
 * What the preload entries do in each thread that runs them (the main thread, a worker, Node's
 * hooks thread): install the configured overlays once, and register the ESM hooks where
 * wanted. State lives on a global symbol, so `-r` plus `--import` (or two copies of
 * overlay-fs) never install twice.
 *
 * Node 20 runs `--require` preloads in workers and in the hooks thread, but `--import`
 * preloads only in the main thread. So the main thread's `--import` leaves a mark in the
 * worker environment data (inherited by workers, not by child processes), and a worker's
 * `-r` preload registers the ESM hooks for that worker when it finds the mark.
 */
import { isMainThread, parentPort, getEnvironmentData, setEnvironmentData } from 'worker_threads';
import { loadConfig } from './config';
import { patchOverlays } from './patch-config';
import { registerLoader } from './loader/register';
import { routeTranslatorReads } from './loader/translator-read';
import { mountpoints } from './patch';
import fs = require('fs');
import type { OverlayOptions } from './types';

const ACTIVE = Symbol.for('overlay-fs.activation');
const ESM_MARK = 'overlay-fs.esm-hooks';

interface Activation {
  readonly overlays: OverlayOptions[];
  loader: boolean;
}

/** Node's hooks thread is the one worker without a parentPort. */
function inHooksThread(): boolean {
  return !isMainThread && parentPort === null;
}

/** `loader`: true from `--import`; 'inherit' from `-r` (hooks only in workers of an ESM parent). */
export function activate(loader: boolean | 'inherit'): void {
  const g = globalThis as Record<symbol, Activation | undefined>;
  let a = g[ACTIVE];
  // The ESM translator was loaded before the patch only when `--import` comes first.
  const translatorFirst = !a && loader === true;
  if (!a) {
    const config = loadConfig();
    patchOverlays(config.overlays);
    a = g[ACTIVE] = { overlays: config.overlays.map((o) => ({ ...o.options })), loader: false };
  }
  const wanted = loader === true || (loader === 'inherit' && !isMainThread && getEnvironmentData(ESM_MARK) === true);
  if (!wanted || a.loader || inHooksThread()) return;
  registerLoader(a.overlays);
  if (translatorFirst) routeTranslatorReads(mountpoints, (p) => fs.readFileSync(p, 'utf8'));
  a.loader = true;
  setEnvironmentData(ESM_MARK, true);
}
