#!/usr/bin/env node
// The `livecap` command. The TypeScript sources compile to dist/ (npm ci runs the build).
// Exit status: 0 done, 1 failed (the message says what and where), 2 usage error.
import { main } from '../dist/src/cli.js';
import { UsageError } from '../dist/src/util/usage-error.js';

// Once the command is done, nothing may keep the process alive: a model worker or a timer
// left behind by a failed start would make a supervisor believe it is still running.
/** The (sub-)command a usage error is about: `serve`, or `synth dataset` for nested ones. */
const command = ([name = '', sub]) => (['synth', 'models', 'bench'].includes(name) && sub && !sub.startsWith('-') ? `${name} ${sub}` : name);

const exitSoon = () => setTimeout(() => process.exit(), 2000).unref();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    exitSoon();
  },
  (err) => {
    const usage = err instanceof UsageError;
    const message = err instanceof Error ? err.message : String(err);
    console.error(`livecap: ${message}${usage && !message.includes('usage:') ? `\n(run 'livecap ${command(process.argv.slice(2))} --help' for usage)` : ''}`);
    process.exitCode = usage ? 2 : 1;
    exitSoon();
  },
);
