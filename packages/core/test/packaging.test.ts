/**
 * The built package (dist/, made by `npm run build` before the tests) loads from both require()
 * and import, with type declarations next to it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..', '..', '..');
const dist = join(root, 'packages', 'core', 'dist');

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' }).trim();
}

describe('@stompkit/core package', () => {
  it('has been built with type declarations', () => {
    expect(existsSync(join(dist, 'index.js'))).toBe(true);
    expect(existsSync(join(dist, 'index.d.ts'))).toBe(true);
  });

  it('loads with require()', () => {
    expect(run(['-e', "const m = require('@stompkit/core'); console.log(typeof m.createBroker, typeof m.Decoder)"])).toBe('function function');
  });

  it('loads with import, named exports included', () => {
    const out = run(['--input-type=module', '-e', "import { createBroker, StompError } from '@stompkit/core'; console.log(typeof createBroker, typeof StompError)"]);
    expect(out).toBe('function function');
  });
});
