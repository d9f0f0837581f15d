/** `run -- <command>`: the overlay preloaded into the command and the Node processes it starts. */
import * as fs from 'fs';
import { seed, removeScratches, demoChanges, expectOneLineError, type Scratch } from './cli';

let s: Scratch;
beforeAll(() => {
  s = seed();
  demoChanges(s);
});
afterAll(removeScratches);

const node = process.execPath;

test('a Node program sees the merged view; writes land in the upper', () => {
  const code = "const fs = require('fs'); console.log(fs.readdirSync('merged').sort().join(' ')); fs.writeFileSync('merged/made-by-run.txt', 'hi')";
  const r = s.run(['run', ...s.flags, '--', node, '-e', code]);
  expect(r).toEqual({ status: 0, stderr: '', stdout: 'a.txt c.txt d.txt docs e.txt extra\n' });
  expect(fs.readFileSync(s.p('upper/made-by-run.txt'), 'utf8')).toBe('hi');
  expect(fs.existsSync(s.p('merged'))).toBe(false);
});

test('child Node processes and ES modules under the mountpoint see it too (NODE_OPTIONS)', () => {
  s.write({ 'lower/hello.mjs': "import { readFileSync } from 'fs';\nconsole.log('esm', readFileSync(new URL('./c.txt', import.meta.url), 'utf8').trim());\n" });
  const child = `const { execFileSync } = require('child_process'); process.stdout.write(execFileSync(process.execPath, ['merged/hello.mjs']))`;
  const r = s.run(['run', ...s.flags, '--', node, '-e', child]);
  expect(r.stderr).toBe('');
  expect(r.stdout).toBe('esm c.txt from the upper layer (this one wins)\n');
});

test('the exit status is the command\'s own', () => {
  expect(s.run(['run', ...s.flags, '--', node, '-e', 'process.exit(7)']).status).toBe(7);
});

test('layers from overlay-fs.config.json', () => {
  s.write({ 'overlay-fs.config.json': JSON.stringify({ mountpoint: 'merged', upper: 'upper', lower: ['middle', 'lower'] }) });
  const r = s.run(['run', '--', node, '-e', "console.log(require('fs').readFileSync('merged/d.txt', 'utf8').trim())"]);
  fs.rmSync(s.p('overlay-fs.config.json'));
  expect(r).toEqual({ status: 0, stderr: '', stdout: 'd.txt from the middle layer\n' });
});

test('mistakes: no command, the command not after --, a missing program, a missing layer', () => {
  expectOneLineError(s.run(['run', ...s.flags]), 'run', /nothing to run: put the command after --/, 2);
  expectOneLineError(s.run(['run', ...s.flags, '--']), 'run', /nothing to run/, 2);
  expectOneLineError(s.run(['run', ...s.flags, 'node', 'x.js']), 'run', /put the command after --/, 2);
  expectOneLineError(s.run(['run', ...s.flags, '--', 'no-such-program-xyz']), 'run', /command not found: no-such-program-xyz/, 127);
  expectOneLineError(s.run(['run', '--mount', 'm', '--lower', 'gone', '--', node, '-e', '']), 'run', /--lower gone: no such directory/);
});
