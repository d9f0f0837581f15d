/**
 * What every command shares: help, the command table, argument errors, where the layers come
 * from (flags, config discovery, --config, several overlays), and colour only on a terminal.
 */
import * as fs from 'fs';
import * as path from 'path';
import { seed, cli, tty, hasScript, removeScratches, expectOneLineError, ROOT, MAIN, type Scratch } from './cli';

const COMMANDS = ['run', 'ls', 'which', 'diff', 'commit', 'reset', 'mount', 'umount', 'explain', 'show'];

let s: Scratch;
beforeAll(() => {
  s = seed();
});
afterAll(removeScratches);

test('package.json "bin" is the built command, and its first line survives tsc as a node shebang', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  expect(path.join(ROOT, pkg.bin['overlay-fs'])).toBe(MAIN);
  expect(fs.readFileSync(MAIN, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
});

test('--help lists every command; each command has its own --help, exit 0', () => {
  const main = s.run(['--help']);
  expect(main.status).toBe(0);
  for (const c of COMMANDS) expect(main.stdout).toMatch(new RegExp(`^  ${c} `, 'm'));
  for (const c of COMMANDS) {
    const r = s.run([c, '--help']);
    expect({ c, status: r.status, stderr: r.stderr }).toEqual({ c, status: 0, stderr: '' });
    expect(r.stdout).toMatch(new RegExp(`^Usage: overlay-fs ${c}`));
    expect(r.stdout).toContain('-h, --help');
  }
  expect(s.run(['help', 'diff']).stdout).toMatch(/^Usage: overlay-fs diff/);
  expect(s.run(['--version']).stdout).toMatch(/^overlay-fs \d+\.\d+\.\d+/);
});

test('no command: the help on stderr and exit 2; an unknown command is one line', () => {
  const r = s.run([]);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/^Usage: overlay-fs <command>/);
  const u = s.run(['frobnicate']);
  expect(u.status).toBe(2);
  expect(u.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^overlay-fs: unknown command "frobnicate" \(commands: run, ls,/)]);
});

test('a bad flag, a flag without its value, an extra argument: one line, exit 2', () => {
  expectOneLineError(s.run(['ls', '--bogus', ...s.flags]), 'ls', /unknown option --bogus/, 2);
  expectOneLineError(s.run(['ls', ...s.flags, '--lower']), 'ls', /option --lower needs a value/, 2);
  expectOneLineError(s.run(['which', ...s.flags, 'a.txt', 'b.txt']), 'which', /unexpected argument "b.txt"/, 2);
  expectOneLineError(s.run(['diff', '--upper', 'upper']), 'diff', /need at least one --lower/, 2);
  expectOneLineError(s.run(['ls', '--upper', 'upper', '--lower', 'lower']), 'ls', /--mount is missing/, 2);
});

test('a missing or wrong layer is one line naming it, exit 1', () => {
  expectOneLineError(s.run(['ls', '--mount', 'm', '--lower', 'nope']), 'ls', /--lower nope: no such directory/);
  expectOneLineError(s.run(['ls', '--mount', 'm', '--lower', 'lower/a.txt']), 'ls', /--lower lower\/a.txt: not a directory/);
  expectOneLineError(s.run(['ls', '--mount', 'm', '--upper', 'lower', '--lower', 'lower']), 'ls', /are the same directory/);
});

test('no flags and no configuration: one line saying where layers can come from', () => {
  // os.tmpdir() has no overlay-fs.config.json above it (the scratch is outside the repository).
  expectOneLineError(s.run(['ls']), 'ls', /no layers given: pass --mount and --lower .*overlay-fs.config.json/);
});

describe('layers from the same configuration as patch()', () => {
  test('overlay-fs.config.json found from a subdirectory, relative to the file', () => {
    s.write({ 'overlay-fs.config.json': JSON.stringify({ mountpoint: 'merged', upper: 'upper', lower: ['middle', 'lower'] }) });
    fs.mkdirSync(s.p('sub'), { recursive: true });
    const r = cli(['ls'], { cwd: s.p('sub') });
    expect(r).toEqual({ status: 0, stderr: '', stdout: 'a.txt\nb.txt\nc.txt\nd.txt\ndocs/\ne.txt\n' });
    fs.rmSync(s.p('overlay-fs.config.json'));
  });

  test('the "overlay-fs" key of package.json, and OVERLAY_FS_CONFIG', () => {
    s.write({ 'package.json': JSON.stringify({ name: 'x', 'overlay-fs': { mountpoint: 'merged', lower: ['lower'] } }) });
    expect(s.run(['ls']).stdout).toBe('a.txt\nb.txt\ndocs/\n');
    fs.rmSync(s.p('package.json'));
    const env = { OVERLAY_FS_CONFIG: JSON.stringify({ mountpoint: 'merged', lower: ['middle'] }) };
    expect(s.run(['ls'], { env }).stdout).toBe('c.txt\nd.txt\ndocs/\n');
  });

  test('--config FILE; several overlays need --mount to pick one', () => {
    s.write({ 'two.json': JSON.stringify([{ mountpoint: 'm1', lower: ['lower'] }, { mountpoint: 'm2', upper: 'upper', lower: ['middle'] }]) });
    expectOneLineError(s.run(['ls', '--config', 'two.json']), 'ls', /lists 2 overlays .*pick one with --mount/);
    expect(s.run(['ls', '--config', 'two.json', '--mount', 'm2']).stdout).toBe('c.txt\nd.txt\ndocs/\ne.txt\n');
    expectOneLineError(s.run(['ls', '--config', 'two.json', '--mount', 'm3']), 'ls', /has no overlay with mountpoint .*m3/);
    expectOneLineError(s.run(['ls', '--config', 'missing.json']), 'ls', /--config missing.json: no such file/);
    expectOneLineError(s.run(['ls', '--config', 'two.json', '--lower', 'lower']), 'ls', /--config and --lower both give the layers/, 2);
  });

  test('a layer missing from a config file names the file', () => {
    s.write({ 'bad.json': JSON.stringify({ mountpoint: 'merged', lower: ['gone'] }) });
    expectOneLineError(s.run(['ls', '--config', 'bad.json']), 'ls', /does not exist.*configured in .*bad.json/);
  });
});

describe('colour', () => {
  test('none when stdout is not a terminal', () => {
    const r = s.run(['ls', ...s.flags, '--layers']);
    expect(r.stdout).not.toContain('\x1b[');
  });

  (hasScript ? test : test.skip)('on a terminal, unless NO_COLOR is set', () => {
    const coloured = tty(['ls', ...s.flags], { cwd: s.dir });
    expect(coloured.status).toBe(0);
    expect(coloured.output).toContain('\x1b[');
    const plain = tty(['ls', ...s.flags], { cwd: s.dir, env: { NO_COLOR: '1' } });
    expect(plain.output).not.toContain('\x1b[');
    expect(plain.output).toContain('docs/');
  });
});
