#!/usr/bin/env node
// The bin: checks the Node version before anything else loads, since on an older Node the
// imports themselves fail with a stack trace that names neither Node nor the version needed.
// Kept to syntax every Node since 14 parses.
const REQUIRED_MAJOR = 24;
const found = process.versions.node;

if (Number(found.split('.')[0]) < REQUIRED_MAJOR) {
  process.stderr.write(`hairpin-proxy needs Node.js ${REQUIRED_MAJOR} or newer; this is Node.js ${found}\n`);
  process.exit(1);
}

const { main } = await import('./cli-main.js');
process.exitCode = await main(process.argv.slice(2));
