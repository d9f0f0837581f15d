/**
 * `node -r overlay-fs/register app.js`: installs the configured overlays (see config.ts) into
 * this thread's fs and CommonJS loading before the program starts. As a `-r` preload it also
 * runs in workers (with the default execArgv) and in Node's hooks thread. ES modules under a
 * mountpoint need `--import overlay-fs/register` (register-esm.ts) as well.
 */
import { activate } from './activate';

activate('inherit');
