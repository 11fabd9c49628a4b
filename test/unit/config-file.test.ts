/**
 * The config file's schema against README's example of it: every setting the schema knows is
 * shown there, and the example reads without a problem. A value with a problem is left out
 * alone, so its neighbours are still checked.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigFile, readConfigFile } from '../../src/config/config-file.js';
import { PROJECT_ROOT } from '../../src/paths.js';

const readme = readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8');
const section = readme.slice(readme.indexOf('### Configuration file'));
const example = JSON.parse(/```json\n([\s\S]*?)```/.exec(section)![1]!) as Record<string, unknown>;

test("README's config example shows every setting and reads without a problem", () => {
  assert.deepEqual(Object.keys(example).sort(), Object.keys(ConfigFile.shape).sort());
  assert.deepEqual(readConfigFile(example, 'README').problems, []);
});

test('a bad value is named and left out alone: the rest of its object is still read', () => {
  const { config, problems } = readConfigFile({ port: 8081, history: { days: 3, keep: 1, maxMb: 'lots' }, sources: { ok: 'a.mp4', 'bad id': 'b.mp4', n: 5 } }, 'c.json');
  assert.deepEqual(problems.sort(), [
    'c.json history.keep: unknown setting (known: path, days, maxEvents, maxMb)',
    'c.json history.maxMb: must be a number, got "lots"',
    'c.json sources.bad id: stream names are 1-64 letters, digits, - or _',
    'c.json sources.n: must be a string, got 5',
  ]);
  assert.deepEqual(config, { port: 8081, history: { days: 3 }, sources: { ok: 'a.mp4' } });
});

test("a configured stream's prompt is held to the API's rules: control characters are refused", async () => {
  const { resolveServeSettings } = await import('../../src/config/serve-settings.js');
  assert.throws(() => resolveServeSettings({}, { sources: { cam: 'testsrc://testsrc' }, prompts: { cam: 'look\u0007here' } }, 'c.json', {}), /prompt for 'cam': must not contain control characters/);
  assert.equal(resolveServeSettings({}, { sources: { cam: 'testsrc://testsrc' }, prompts: { cam: 'look\there,\nplease' } }, 'c.json', {}).prompts.get('cam'), 'look\there,\nplease');
});
