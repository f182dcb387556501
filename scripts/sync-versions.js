#!/usr/bin/env node
'use strict';
/**
 * Keeps the published packages in step: every package under packages/ that depends on another
 * @stompkit package depends on it with `^<its current version>`, so an adapter installed from the
 * registry (or from its `npm pack` tarball) gets a core it was built and tested with, never `*`.
 *
 *   node scripts/sync-versions.js           sets the ranges from the packages' versions
 *   node scripts/sync-versions.js 0.2.0     sets every package's version to 0.2.0, then the ranges
 *   node scripts/sync-versions.js --check   exits 1 (saying what to run) when a range is out of step;
 *                                           `npm run build` runs this first
 *
 * After a change it refreshes package-lock.json (`npm install --package-lock-only`), so `npm ci`
 * keeps working. Private workspaces (examples/) may keep `*`: npm links them to the workspace.
 */
const { execFileSync } = require('node:child_process');
const { readdirSync, readFileSync, writeFileSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const FIELDS = ['dependencies', 'peerDependencies', 'optionalDependencies'];

/** The published packages: packages/<dir>/package.json that are not private. */
function packages() {
  const dir = join(root, 'packages');
  return readdirSync(dir)
    .map((name) => join(dir, name, 'package.json'))
    .filter((file) => existsSync(file))
    .map((file) => ({ file, json: JSON.parse(readFileSync(file, 'utf8')) }))
    .filter((pkg) => pkg.json.private !== true);
}

/** Ranges that differ from `^<version>`: [{ pkg, field, dep, actual, expected }]. */
function mismatches(pkgs) {
  const versions = new Map(pkgs.map((pkg) => [pkg.json.name, pkg.json.version]));
  const out = [];
  for (const pkg of pkgs) {
    for (const field of FIELDS) {
      for (const [dep, actual] of Object.entries(pkg.json[field] ?? {})) {
        if (!versions.has(dep)) continue;
        const expected = `^${versions.get(dep)}`;
        if (actual !== expected) out.push({ pkg, field, dep, actual, expected });
      }
    }
  }
  return out;
}

function main(argv) {
  const check = argv.includes('--check');
  const version = argv.find((arg) => !arg.startsWith('-'));
  if (version !== undefined && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    console.error(`sync-versions: "${version}" is not a semver version`);
    return 2;
  }
  const pkgs = packages();
  if (check) {
    const wrong = mismatches(pkgs);
    for (const m of wrong) {
      console.error(`sync-versions: ${m.pkg.json.name} ${m.field}["${m.dep}"] is "${m.actual}", expected "${m.expected}"`);
    }
    if (wrong.length > 0) console.error('sync-versions: run `node scripts/sync-versions.js` to fix');
    return wrong.length > 0 ? 1 : 0;
  }
  const changed = new Set();
  if (version !== undefined) {
    for (const pkg of pkgs) {
      if (pkg.json.version !== version) {
        pkg.json.version = version;
        changed.add(pkg);
      }
    }
  }
  for (const m of mismatches(pkgs)) {
    m.pkg.json[m.field][m.dep] = m.expected;
    changed.add(m.pkg);
  }
  for (const pkg of changed) {
    writeFileSync(pkg.file, `${JSON.stringify(pkg.json, null, 2)}\n`);
    console.log(`sync-versions: updated ${pkg.json.name} (${pkg.json.version})`);
  }
  if (changed.size > 0) {
    execFileSync('npm', ['install', '--package-lock-only', '--ignore-scripts', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  }
  return 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

module.exports = { packages, mismatches };
