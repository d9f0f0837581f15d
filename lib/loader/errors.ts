/**
 * The module-resolution errors Node's own resolver throws, with the same `code` and message
 * shape, so that a program (or a tool that inspects `err.code`) cannot tell whether a file
 * under a mountpoint was resolved by Node or by overlay-fs.
 */

type Kind = typeof Error | typeof TypeError;

function make(Base: Kind, code: string, message: string, extra?: Record<string, unknown>): Error & { code: string } {
  const err = new Base(message) as Error & { code: string };
  err.code = code;
  if (extra) Object.assign(err, extra);
  return err;
}

const from = (base: string | undefined) => (base ? ` imported from ${base}` : '');

/** `path` names a file (`url` given) or a package (no `url`). */
export const moduleNotFound = (path: string, base: string | undefined, url?: string) =>
  make(Error, 'ERR_MODULE_NOT_FOUND', `Cannot find ${url ? 'module' : 'package'} '${path}'${from(base)}`, url ? { url } : undefined);

export const unsupportedDirImport = (path: string, base: string | undefined, url: string) =>
  make(Error, 'ERR_UNSUPPORTED_DIR_IMPORT', `Directory import '${path}' is not supported resolving ES modules${from(base)}`, { url });

/** `pkgDir` ends with a slash, as in Node's messages. */
export const pathNotExported = (pkgDir: string, subpath: string, base: string | undefined) =>
  make(Error, 'ERR_PACKAGE_PATH_NOT_EXPORTED', subpath === '.'
    ? `No "exports" main defined in ${pkgDir}package.json${from(base)}`
    : `Package subpath '${subpath}' is not defined by "exports" in ${pkgDir}package.json${from(base)}`);

export const importNotDefined = (specifier: string, pkgDir: string | undefined, base: string | undefined) =>
  make(TypeError, 'ERR_PACKAGE_IMPORT_NOT_DEFINED', `Package import specifier "${specifier}" is not defined${pkgDir ? ` in package ${pkgDir}package.json` : ''}${from(base)}`);

export function invalidPackageTarget(pkgDir: string, key: string, target: unknown, isImport: boolean, base: string | undefined) {
  const relError = typeof target === 'string' && !isImport && target.length > 0 && !target.startsWith('./');
  const hint = relError ? '; targets must start with "./"' : '';
  return make(Error, 'ERR_INVALID_PACKAGE_TARGET', key === '.'
    ? `Invalid "exports" main target ${JSON.stringify(target)} defined in the package config ${pkgDir}package.json${from(base)}${hint}`
    : `Invalid "${isImport ? 'imports' : 'exports'}" target ${JSON.stringify(target)} defined for '${key}' in the package config ${pkgDir}package.json${from(base)}${hint}`);
}

export const invalidModuleSpecifier = (request: string, reason: string, base: string | undefined) =>
  make(TypeError, 'ERR_INVALID_MODULE_SPECIFIER', `Invalid module "${request}" ${reason}${from(base)}`);

export const invalidPackageConfig = (file: string, base: string | undefined, message: string) =>
  make(Error, 'ERR_INVALID_PACKAGE_CONFIG', `Invalid package config ${file}${base ? ` while importing ${base}` : ''}. ${message}`);
