/** Configuration for patch() with no argument. */
import type { OverlayOptions } from './types';
import { OverlayError } from './errors';

export function loadConfig(): OverlayOptions {
  throw new OverlayError('ERR_OVERLAY_NO_CONFIG', 'overlay-fs: patch() without options needs OVERLAY_FS_CONFIG, an overlay-fs.config.json or an "overlay-fs" key in package.json');
}
