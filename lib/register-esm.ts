/**
 * `node --import overlay-fs/register app.mjs` (through dist/esm/register.mjs): installs the
 * configured overlays like the `-r` entry, then registers the ESM resolve/load hooks so that
 * `import`, `import()` and an ESM entry point under a mountpoint load through the merged view.
 */
import { activate } from './activate';

activate(true);
