/**
 * fs.watch's and fs.promises.watch's arguments, checked as Node 20 checks them (same error
 * codes and messages), and filenames in the encoding asked for.
 */
import * as util from 'util';

export interface WatchOptions {
  readonly persistent: boolean;
  readonly recursive: boolean;
  /** A Buffer encoding, or 'buffer' for Buffer filenames. */
  readonly encoding: string;
  readonly signal: AbortSignal | undefined;
}

type Listener = (eventType: string, filename: string | Buffer | null) => void;

/** fs.watch(path, [options], [listener]): options may be an encoding string. */
export function watchArgs(options: unknown, listener: unknown): { options: WatchOptions; listener: Listener | undefined } {
  if (typeof options === 'function') {
    listener = options;
    options = undefined;
  }
  if (typeof options === 'string') options = { encoding: options };
  if (options !== undefined && options !== null && typeof options !== 'object') {
    throw typeError('ERR_INVALID_ARG_TYPE', `The "options" argument must be one of type string or object. Received ${received(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  checkEncoding(o.encoding, `The argument 'encoding' is invalid encoding. Received ${util.inspect(o.encoding)}`);
  checkSignal(o.signal);
  checkRecursive(o.recursive);
  return { options: normalise(o), listener: typeof listener === 'function' ? (listener as Listener) : undefined };
}

/** fs.promises.watch(path, [options]): options must be an object. */
export function promiseWatchArgs(options: unknown): WatchOptions {
  if (options !== undefined && (options === null || typeof options !== 'object')) {
    throw typeError('ERR_INVALID_ARG_TYPE', `The "options" argument must be of type object. Received ${received(options)}`);
  }
  const o = (options ?? {}) as Record<string, unknown>;
  // Node 20 names the two the other way round in this message.
  checkEncoding(o.encoding, `The argument '${String(o.encoding)}' is invalid encoding. Received 'encoding'`);
  checkRecursive(o.recursive);
  checkSignal(o.signal);
  return normalise(o);
}

function normalise(o: Record<string, unknown>): WatchOptions {
  return {
    persistent: o.persistent === undefined ? true : Boolean(o.persistent),
    recursive: o.recursive === true,
    encoding: o.encoding === undefined || o.encoding === null ? 'utf8' : String(o.encoding),
    signal: o.signal as AbortSignal | undefined,
  };
}

/** A filename as Node gives it for this encoding. */
export function encodeName(name: string, encoding: string): string | Buffer {
  if (encoding === 'buffer') return Buffer.from(name, 'utf8');
  if (encoding === 'utf8' || encoding === 'utf-8') return name;
  return Buffer.from(name, 'utf8').toString(encoding as BufferEncoding);
}

function checkEncoding(encoding: unknown, message: string): void {
  if (encoding === undefined || encoding === null || encoding === 'buffer') return;
  if (typeof encoding !== 'string' || !Buffer.isEncoding(encoding)) throw typeError('ERR_INVALID_ARG_VALUE', message);
}

function checkRecursive(recursive: unknown): void {
  if (recursive !== undefined && typeof recursive !== 'boolean') {
    throw typeError('ERR_INVALID_ARG_TYPE', `The "options.recursive" property must be of type boolean. Received ${received(recursive)}`);
  }
}

function checkSignal(signal: unknown): void {
  // As Node's validateAbortSignal: by shape, so a signal from another realm is accepted.
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) {
    throw typeError('ERR_INVALID_ARG_TYPE', `The "options.signal" property must be an instance of AbortSignal. Received ${received(signal)}`);
  }
}

function received(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'function') return `function ${(v as { name?: string }).name ?? ''}`;
  if (typeof v === 'object') {
    const ctor = (v as object).constructor?.name;
    return ctor ? `an instance of ${ctor}` : util.inspect(v, { depth: -1 });
  }
  let shown = util.inspect(v, { colors: false });
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof v} (${shown})`;
}

function typeError(code: string, message: string): TypeError {
  const err = new TypeError(message) as TypeError & { code: string };
  err.code = code;
  return err;
}
