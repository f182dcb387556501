/**
 * Repository hygiene: committed files name other files by their path in the repository, never by
 * an absolute path of a development machine (a home directory, a checkout or worktree location).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const root = join(__dirname, '..');

// Spelled in pieces so this file does not match itself.
const MACHINE_PATH = new RegExp(['/' + 'work/(?:wt|main|shared)/', '/' + 'home/[a-z_][\\w-]*/', '/' + 'Users/[A-Za-z][\\w-]*/', '[A-Z]:\\\\' + 'Users\\\\'].join('|'));

describe('committed files', () => {
  it('name no absolute path of a development machine', () => {
    const files = execFileSync('git', ['ls-files', '-z'], { cwd: root, encoding: 'utf8' })
      .split('\0')
      .filter((f) => f !== '' && f !== 'package-lock.json');
    const found: string[] = [];
    for (const file of files) {
      let text: string;
      try {
        text = readFileSync(join(root, file), 'utf8');
      } catch {
        continue; // deleted in the working tree
      }
      text.split('\n').forEach((line, i) => {
        if (MACHINE_PATH.test(line)) found.push(`${file}:${i + 1}: ${line.trim()}`);
      });
    }
    expect(found).toEqual([]);
  });
});
