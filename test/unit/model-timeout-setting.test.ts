/** The `serve` setting for model deadlines: default, config file, flag, and a clear error. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveServeSettings } from '../../src/config/serve-settings.js';

test('a model call may take 30 s unless the config file or --model-timeout says otherwise', () => {
  assert.equal(resolveServeSettings({}, {}, 'c.json', {}).modelTimeoutS, 30);
  assert.equal(resolveServeSettings({}, { modelTimeout: 90 }, 'c.json', {}).modelTimeoutS, 90);
  assert.equal(resolveServeSettings({ 'model-timeout': '5' }, { modelTimeout: 90 }, 'c.json', {}).modelTimeoutS, 5);
  assert.throws(() => resolveServeSettings({ 'model-timeout': '0' }, {}, 'c.json', {}), /model timeout: must be from 1 to 3600 seconds, got 0/);
  assert.throws(() => resolveServeSettings({}, { modelTimeout: 'slow' }, 'c.json', {}), /c\.json modelTimeout: must be a number, got "slow"/);
});
