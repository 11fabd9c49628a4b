#!/usr/bin/env node
// The `livecap` command. The TypeScript sources compile to dist/ (npm ci runs the build).
// Exit status: 0 done, 1 failed (the message says what and where), 2 usage error.
import { main } from '../dist/src/cli.js';
import { UsageError } from '../dist/src/util/usage-error.js';

// Once the command is done, nothing may keep the process alive: a model worker or a timer
// left behind by a failed start would make a supervisor believe it is still running.
const exitSoon = () => setTimeout(() => process.exit(), 2000).unref();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    exitSoon();
  },
  (err) => {
    const usage = err instanceof UsageError;
    console.error(`livecap: ${err instanceof Error ? err.message : String(err)}${usage ? "\n(run 'livecap " + (process.argv[2] ?? '') + " --help' for usage)" : ''}`);
    process.exitCode = usage ? 2 : 1;
    exitSoon();
  },
);
