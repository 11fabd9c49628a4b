#!/usr/bin/env node
// The `livecap` command. The TypeScript sources compile to dist/ (npm ci runs the build).
import { main } from '../dist/src/cli.js';

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err) => {
    console.error(`livecap: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
