/**
 * Installing several overlays as one unit (a configuration may list several). Every overlay
 * is validated before any is installed, so a bad second entry leaves nothing half-done and
 * nothing written (createStack would clean the work directory). Errors about a layer keep
 * their own code (ERR_OVERLAY_LAYER_MISSING, ...) and also name the configuration and field.
 */
import { normalizeOptions } from './options';
import { createStack } from './layers/create';
import { patchOwnStack } from './patch';
import { OverlayError } from './errors';
import type { OverlayOptions } from './types';

export interface OverlayToPatch {
  readonly options: OverlayOptions;
  /** Where it was configured, for error messages. */
  readonly source?: string;
  readonly field?: string;
}

function located(err: unknown, o: OverlayToPatch): unknown {
  if (!(err instanceof OverlayError) || !o.source) return err;
  const where = o.field ? `${o.source} (${o.field})` : o.source;
  return Object.assign(new OverlayError(err.code, `${err.message} [configured in ${where}]`), { source: o.source, field: o.field ?? '' });
}

export function patchOverlays(overlays: readonly OverlayToPatch[]): () => void {
  for (const o of overlays) {
    try {
      normalizeOptions(o.options);
    } catch (err) {
      throw located(err, o);
    }
  }
  const removals: Array<() => void> = [];
  for (const o of overlays) {
    try {
      removals.push(patchOwnStack(createStack(o.options)));
    } catch (err) {
      for (const remove of removals.reverse()) remove();
      throw located(err, o);
    }
  }
  return function unpatch(): void {
    for (const remove of removals.splice(0).reverse()) remove();
  };
}
