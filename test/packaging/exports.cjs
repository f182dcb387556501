// Prints, as JSON, the export names of each package given on the command line, once loaded with
// require() and once with import() (run by test/packaging.test.ts inside the scratch project).
'use strict';
(async () => {
  const out = {};
  for (const name of process.argv.slice(2)) {
    const required = require(name);
    const imported = await import(name);
    out[name] = { require: Object.keys(required).sort(), import: Object.keys(imported).sort() };
  }
  process.stdout.write(JSON.stringify(out));
})().catch((err) => {
  process.stderr.write(String(err && err.stack));
  process.exitCode = 1;
});
