/**
 * The packages as users get them: every published package (non-private, under packages/) is
 * packed with `npm pack` from its built dist/ (`npm test` builds first), and the tarballs are
 * installed with npm into scratch projects in a temporary directory: one per adapter with core
 * only (what `npm install @stompkit/express` gives), and one with every package together. In
 * each project the packages load with require() and import, a strict `nodenext` TypeScript
 * consumer (test/packaging/*.mts, `skipLibCheck: false`) type-checks against the installed
 * declarations, and a server built on the adapter talks to a @stomp/stompjs client.
 *
 * Kept fast: one `npm pack` for all packages, the three installs run at once from the user's npm
 * cache (`--prefer-offline`, no audit, no fund), and the type-checks run at once after them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import type { IMessage } from '@stomp/stompjs';
import { stompjsConnect } from '../packages/core/test/transport/ws-helpers';

const root = join(__dirname, '..');
const fixtures = join(__dirname, 'packaging');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');

interface PackageJson {
  name: string;
  version: string;
  private?: boolean;
  license?: string;
  main?: string;
  types?: string;
  files?: string[];
  keywords?: string[];
  engines?: Record<string, string>;
  repository?: { type?: string; url?: string; directory?: string } | string;
  exports?: Record<string, unknown>;
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

interface Workspace {
  /** Folder under packages/ ('core', 'express', ...). */
  dir: string;
  json: PackageJson;
}

interface Packed {
  name: string;
  filename: string;
  files: string[];
}

interface Project {
  name: string;
  dir: string;
  /** Workspace folders installed from tarballs. */
  packages: string[];
  /** Fixtures (test/packaging/*.mts) type-checked in it. */
  checks: string[];
  installed?: Promise<void>;
  typecheck?: Promise<string>;
}

const workspaces: Workspace[] = readdirSync(join(root, 'packages'))
  .filter((dir) => existsSync(join(root, 'packages', dir, 'package.json')))
  .map((dir) => ({ dir, json: JSON.parse(readFileSync(join(root, 'packages', dir, 'package.json'), 'utf8')) as PackageJson }))
  .filter((ws) => ws.json.private !== true);
const core = workspaces.find((ws) => ws.json.name === '@stompkit/core')!;
const adapters = workspaces.filter((ws) => ws !== core);

/** npm and node without the variables `npm test` exports (npm_config_*, npm_package_*), which would steer the inner npm. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!/^npm_/i.test(key)) env[key] = value;
  return env;
}

function run(command: string, args: string[], cwd: string, timeout = 90_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { cwd, env: childEnv(), timeout, maxBuffer: 32 << 20, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Optional peer dependencies (e.g. `@types/express`, `prom-client`): what a TypeScript user adds beside the package. */
function optionalPeers(ws: Workspace): string[] {
  return Object.keys(ws.json.peerDependencies ?? {})
    .filter((name) => ws.json.peerDependenciesMeta?.[name]?.optional === true)
    .map((name) => `${name}@${ws.json.peerDependencies![name]}`);
}

function fixture(name: string): string | undefined {
  return existsSync(join(fixtures, name)) ? name : undefined;
}

/**
 * A strict consumer: every declaration file of the installed packages and their dependencies is
 * checked (`skipLibCheck: false`); only TypeScript's own lib.*.d.ts are not (`skipDefaultLibCheck`),
 * which halves the check time and cannot hide a problem of ours.
 */
const TSCONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'es2022',
    strict: true,
    skipLibCheck: false,
    skipDefaultLibCheck: true,
    noEmit: true,
  },
};

let temp: string;
const packed = new Map<string, Packed>();
const projects: Project[] = [
  ...adapters.map((ws) => ({
    name: `${ws.json.name} with ${core.json.name} only`,
    dir: ws.dir,
    packages: [core.dir, ws.dir],
    checks: [fixture(`${core.dir}.mts`), fixture(`${ws.dir}.mts`)].filter((f): f is string => f !== undefined),
  })),
  {
    name: 'every package together',
    dir: 'all',
    packages: workspaces.map((ws) => ws.dir),
    checks: readdirSync(fixtures).filter((f) => f.endsWith('.mts')),
  },
];

async function install(project: Project): Promise<void> {
  const dir = join(temp, project.dir);
  const installs = project.packages.map((pkg) => join(temp, 'tarballs', packed.get(pkg)!.filename));
  const chosen = workspaces.filter((ws) => project.packages.includes(ws.dir));
  // Core's optional peer (prom-client) only where every package is installed; adapters' @types peers always.
  for (const ws of chosen) for (const peer of optionalPeers(ws)) if (project.dir === 'all' || peer.startsWith('@types/')) installs.push(peer);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `consumer-${project.dir}`, version: '1.0.0', private: true }));
  await run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...installs], dir, 120_000);
  for (const file of readdirSync(fixtures)) copyFileSync(join(fixtures, file), join(dir, file));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ ...TSCONFIG, files: project.checks }));
}

beforeAll(async () => {
  temp = mkdtempSync(join(tmpdir(), 'stompkit-packaging-'));
  const tarballs = join(temp, 'tarballs');
  mkdirSync(tarballs);
  const out = await run(
    'npm',
    ['pack', '--json', '--loglevel=error', '--pack-destination', tarballs, ...workspaces.map((ws) => join(root, 'packages', ws.dir))],
    root,
  );
  const list = JSON.parse(out) as Array<{ name: string; filename: string; files: Array<{ path: string }> }>;
  for (const ws of workspaces) {
    const entry = list.find((p) => p.name === ws.json.name)!;
    packed.set(ws.dir, { name: entry.name, filename: entry.filename, files: entry.files.map((f) => f.path) });
  }
  for (const project of projects) {
    mkdirSync(join(temp, project.dir), { recursive: true });
    project.installed = install(project);
    // Type-checks start as soon as their project is installed; the tests await them.
    project.typecheck = project.installed.then(() => run(process.execPath, [tsc, '-p', join(temp, project.dir)], join(temp, project.dir)));
    project.typecheck.catch(() => {}); // reported by its own test
  }
  await Promise.all(projects.map((p) => p.installed));
}, 180_000);

afterAll(() => {
  if (temp) rmSync(temp, { recursive: true, force: true });
});

/** The installed copy of a package in the "all" project: the tarball's content, unpacked by npm. */
function installedDir(ws: Workspace): string {
  return join(temp, 'all', 'node_modules', ...ws.json.name.split('/'));
}

describe('the tarballs npm pack makes', () => {
  it.each(workspaces.map((ws) => [ws.json.name, ws] as const))('%s holds package.json, README.md, LICENSE, dist/ and src/, and no build-info file', (_name, ws) => {
    const files = packed.get(ws.dir)!.files;
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'dist/index.js', 'dist/index.d.ts', 'src/index.ts']));
    expect(files.filter((f) => /tsbuildinfo$/.test(f))).toEqual([]);
    expect(files.filter((f) => /(^|\/)test\//.test(f))).toEqual([]);
    expect(readFileSync(join(installedDir(ws), 'LICENSE'), 'utf8')).toBe(readFileSync(join(root, 'LICENSE'), 'utf8'));
    expect(readFileSync(join(installedDir(ws), 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it.each(workspaces.map((ws) => [ws.json.name, ws] as const))('%s: every source map and sourceMappingURL resolves to a file in the tarball', (_name, ws) => {
    const files = new Set(packed.get(ws.dir)!.files);
    const unresolved: string[] = [];
    let maps = 0;
    for (const file of files) {
      if (/\.(js|d\.ts)$/.test(file)) {
        const url = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(readFileSync(join(installedDir(ws), file), 'utf8'))?.[1];
        if (url !== undefined && !url.startsWith('data:') && !files.has(posix.join(posix.dirname(file), url))) unresolved.push(`${file} → ${url}`);
      }
      if (!file.endsWith('.map')) continue;
      maps++;
      const map = JSON.parse(readFileSync(join(installedDir(ws), file), 'utf8')) as { sources: string[]; sourceRoot?: string; sourcesContent?: Array<string | null> };
      map.sources.forEach((source, i) => {
        if (typeof map.sourcesContent?.[i] === 'string') return;
        const target = posix.normalize(posix.join(posix.dirname(file), map.sourceRoot ?? '', source));
        if (!files.has(target)) unresolved.push(`${file} → ${source}`);
      });
    }
    expect(maps).toBeGreaterThan(0);
    expect(unresolved).toEqual([]);
  });
});

describe('package metadata', () => {
  it.each(adapters.map((ws) => [ws.json.name, ws] as const))('%s depends on @stompkit/core with ^ and the version of core it was built with', (_name, ws) => {
    const installed = JSON.parse(readFileSync(join(installedDir(ws), 'package.json'), 'utf8')) as PackageJson;
    expect(installed.dependencies?.['@stompkit/core']).toBe(`^${core.json.version}`);
  });

  it('scripts/sync-versions.js --check (run by npm run build) finds every range in step', async () => {
    await expect(run(process.execPath, [join(root, 'scripts', 'sync-versions.js'), '--check'], root)).resolves.toBe('');
  });

  it.each(workspaces.map((ws) => [ws.json.name, ws] as const))('%s has an exports map with types, a repository, keywords, engines, files and the MIT license', (_name, ws) => {
    const pkg = JSON.parse(readFileSync(join(installedDir(ws), 'package.json'), 'utf8')) as PackageJson;
    const dot = pkg.exports?.['.'] as Record<string, string>;
    expect(Object.keys(dot)[0]).toBe('types'); // `types` must come first for TypeScript to use it
    for (const target of [dot.types, dot.default, pkg.main, pkg.types]) expect(existsSync(join(installedDir(ws), target!))).toBe(true);
    expect(pkg.exports?.['./package.json']).toBe('./package.json');
    expect(pkg.license).toBe('MIT');
    expect(pkg.repository).toEqual(expect.objectContaining({ type: 'git', url: expect.stringMatching(/^git\+https:\/\//), directory: `packages/${ws.dir}` }));
    expect(pkg.keywords).toEqual(expect.arrayContaining(['stomp', 'websocket']));
    expect(pkg.engines?.node).toBe('>=20');
    expect(pkg.files).toEqual(expect.arrayContaining(['dist']));
  });
});

describe.each(projects.map((p) => [p.name, p] as const))('installed from the tarballs: %s', (_name, project) => {
  const cwd = (): string => join(temp, project.dir);

  it('require() and import load every export the workspace build has', async () => {
    const names = workspaces.filter((ws) => project.packages.includes(ws.dir)).map((ws) => ws.json.name);
    const script = join(fixtures, 'exports.cjs');
    const installed = JSON.parse(await run(process.execPath, [join(cwd(), 'exports.cjs'), ...names], cwd())) as Record<string, { require: string[]; import: string[] }>;
    const workspace = JSON.parse(await run(process.execPath, [script, ...names], root)) as typeof installed;
    for (const name of names) {
      expect(installed[name].require).toEqual(workspace[name].require);
      expect(installed[name].require.length).toBeGreaterThan(0);
      // import sees every named export of the CommonJS build (plus `default`).
      expect(installed[name].import).toEqual(expect.arrayContaining([...installed[name].require, 'default']));
    }
  });

  it(`type-checks a strict nodenext consumer without skipLibCheck (${project.checks.join(', ')})`, async () => {
    expect(project.checks.length).toBeGreaterThan(0);
    await expect(project.typecheck).resolves.toBe('');
  }, 90_000);

  const server = fixture(`${project.dir}-server.mjs`);
  if (server === undefined) return;
  it(`runs ${server} from the installed packages and a @stomp/stompjs client talks to it`, async () => {
    const child = spawn(process.execPath, [server], { cwd: cwd(), env: childEnv(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    try {
      const port = await listeningPort(child, () => stderr);
      const { client } = await stompjsConnect(`ws://127.0.0.1:${port}/ws`);
      try {
        const received: IMessage[] = [];
        const both = new Promise<void>((resolve) => {
          const take = (m: IMessage): void => {
            received.push(m);
            if (received.length === 2) resolve();
          };
          client.subscribe('/topic/echo', take);
          client.subscribe('/topic/news', take, { receipt: 'subscribed' });
        });
        await new Promise<void>((resolve) => client.watchForReceipt('subscribed', () => resolve()));
        client.publish({ destination: '/app/echo', body: JSON.stringify({ text: 'hi' }), headers: { 'content-type': 'application/json' } });
        const res = await fetch(`http://127.0.0.1:${port}/api/news`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"title":"packed"}' });
        expect(res.status).toBe(202);
        await both;
        const bodies = Object.fromEntries(received.map((m) => [m.headers.destination, JSON.parse(m.body) as unknown]));
        expect(bodies).toEqual({ '/topic/echo': { echoed: { text: 'hi' } }, '/topic/news': { title: 'packed' } });
      } finally {
        await client.deactivate();
      }
    } finally {
      child.stdin!.end();
      if (child.exitCode === null) await once(child, 'exit');
    }
    expect(stderr).toBe('');
  }, 30_000);
});

function listeningPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = /^(\{.*\})\n/m.exec(out);
      if (line) resolve((JSON.parse(line[1]!) as { port: number }).port);
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code} before listening:\n${out}\n${stderr()}`)));
  });
}
