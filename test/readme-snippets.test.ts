/**
 * Every ```ts snippet in the READMEs (README.md, packages/<name>/README.md, examples/<name>/README.md)
 * type-checks as a module of its own, the way a strict TypeScript user would paste it: an `.mts`
 * file (ESM, so top-level `await` works), `strict`, `module`/`moduleResolution` `nodenext`, against
 * the workspace packages' built declarations (node_modules/@stompkit/* link to packages/*, whose
 * exports point at dist/; `npm test` builds first).
 *
 * So a snippet states its imports, and declares what it leaves to the app, e.g.
 * `declare const sessionMiddleware: RequestHandler; // the app's own session middleware`.
 * New snippets are picked up without touching this file. Fences other than ```ts/```typescript
 * (```js, ```sh, plain ```) are not checked.
 *
 * Also: no README table is cut in two (rows after a paragraph inside a table render as running text).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

const root = join(__dirname, '..');
/** Snippets live here as virtual files, so module resolution walks up to the repository's node_modules. */
const virtualDir = join(root, '.readme-snippets');

interface Snippet {
  /** README path relative to the repository root. */
  readme: string;
  /** 1-based line of the snippet's first code line in the README. */
  line: number;
  code: string;
  fileName: string;
}

function readmes(): string[] {
  const found = ['README.md'];
  for (const group of ['packages', 'examples']) {
    for (const name of readdirSync(join(root, group)).sort()) {
      const file = join(group, name, 'README.md');
      if (existsSync(join(root, file))) found.push(file);
    }
  }
  return found;
}

function extractSnippets(readme: string, text: string): Snippet[] {
  const lines = text.split('\n');
  const snippets: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*(ts|typescript)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const fence = open[2]!;
    const start = i + 1;
    let end = start;
    while (end < lines.length && !lines[end]!.trim().startsWith(fence)) end++;
    const code = lines.slice(start, end).join('\n');
    const slug = readme.replace(/[^A-Za-z0-9]+/g, '-');
    snippets.push({ readme, line: start + 1, code, fileName: join(virtualDir, `${slug}-L${start + 1}.mts`) });
    i = end;
  }
  return snippets;
}

const snippets = readmes().flatMap((readme) => extractSnippets(readme, readFileSync(join(root, readme), 'utf8')));

const options: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  lib: ['lib.es2022.d.ts'],
  strict: true,
  noEmit: true,
  // The installed-package check (test/packaging.test.ts) runs without skipLibCheck; here only the snippets matter.
  skipLibCheck: true,
  types: ['node'],
};

let diagnostics: Map<string, string[]>;

/** Type-checks `group` in one program, recording each snippet's diagnostics. */
function check(group: Snippet[], host: ts.CompilerHost, oldProgram: ts.Program | undefined): ts.Program {
  const byName = new Map(group.map((s) => [s.fileName, s]));
  const program = ts.createProgram({ rootNames: [...byName.keys()], options, host, oldProgram });
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    const snippet = d.file ? byName.get(d.file.fileName) : undefined;
    if (snippet && d.start !== undefined) {
      const { line, character } = d.file!.getLineAndCharacterOfPosition(d.start);
      diagnostics.get(snippet.fileName)!.push(`${snippet.readme}:${snippet.line + line}:${character + 1} TS${d.code}: ${message}`);
    } else {
      // A problem outside the snippets (a declaration file, the options): blame every snippet of the group.
      const where = d.file ? relative(root, d.file.fileName) : 'compiler options';
      for (const s of group) diagnostics.get(s.fileName)!.push(`${where} TS${d.code}: ${message}`);
    }
  }
  return program;
}

beforeAll(() => {
  const byName = new Map(snippets.map((s) => [s.fileName, s]));
  const host = ts.createCompilerHost(options, true);
  const { getSourceFile, fileExists, readFile } = host;
  host.fileExists = (name) => byName.has(name) || fileExists.call(host, name);
  host.readFile = (name) => byName.get(name)?.code ?? readFile.call(host, name);
  host.getSourceFile = (name, languageVersion, onError, shouldCreate) => {
    const snippet = byName.get(name);
    if (snippet) return ts.createSourceFile(name, snippet.code, languageVersion, true);
    return getSourceFile.call(host, name, languageVersion, onError, shouldCreate);
  };
  diagnostics = new Map(snippets.map((s) => [s.fileName, []]));
  // Snippets share one program, except those that augment global or module types (`declare global`,
  // `declare module 'fastify'`): each of those gets its own, so its augmentation cannot make another
  // snippet compile.
  const augments = (s: Snippet): boolean => /\bdeclare\s+(global|module)\b/.test(s.code);
  let program = check(snippets.filter((s) => !augments(s)), host, undefined);
  for (const snippet of snippets.filter(augments)) program = check([snippet], host, program);
}, 60_000);

describe('README snippets', () => {
  it('finds the ```ts snippets of README.md and of the package READMEs', () => {
    const found = new Set(snippets.map((s) => s.readme));
    for (const readme of ['README.md', 'packages/core/README.md', 'packages/express/README.md', 'packages/fastify/README.md']) expect(found).toContain(readme);
  });

  it.each(snippets.map((s) => [`${s.readme}:${s.line}`, s] as const))('the snippet at %s states its imports and type-checks for a strict nodenext consumer', (_where, snippet) => {
    expect(diagnostics.get(snippet.fileName)).toEqual([]);
  });
});

/** Table rows that do not belong to a table: a `|` line that follows a non-table line but is no header (no `| --- |` line after it) renders as running text. */
function orphanRows(readme: string, text: string): string[] {
  const lines = text.split('\n');
  const found: string[] = [];
  let fence: string | undefined;
  lines.forEach((line, i) => {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence !== undefined || !line.startsWith('|')) return;
    const previous = lines[i - 1] ?? '';
    const startsTable = !previous.startsWith('|');
    if (startsTable && !/^\|\s*:?-{3,}/.test(lines[i + 1] ?? '')) found.push(`${readme}:${i + 1}: ${line.slice(0, 60)}`);
  });
  return found;
}

describe('README tables', () => {
  it.each(readmes())('%s has no table rows cut off from their table', (readme) => {
    expect(orphanRows(readme, readFileSync(join(root, readme), 'utf8'))).toEqual([]);
  });
});
