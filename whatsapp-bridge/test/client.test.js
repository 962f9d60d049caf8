// The real library, constructed but never initialised: our options reach it, and the event names the
// bridge listens to are the library's own.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { test } from 'node:test';

import wweb from 'whatsapp-web.js';

import { LISTENED, createRealClient } from '../src/client.js';

test('the bridge listens only to events whatsapp-web.js emits', () => {
    const names = new Set(Object.values(wweb.Events));
    for (const name of LISTENED) assert.ok(names.has(name), name);
});

test('the real client keeps its session in the data folder and uses the configured chromium', () => {
    const client = createRealClient({ dataDir: '/tmp/aegis-wa-test', chromium: '/usr/bin/chromium' });
    assert.ok(client instanceof EventEmitter);
    assert.ok(client.authStrategy instanceof wweb.LocalAuth);
    assert.equal(client.authStrategy.dataPath, path.resolve('/tmp/aegis-wa-test'));
    assert.equal(client.options.puppeteer.executablePath, '/usr/bin/chromium');
    assert.equal(client.options.puppeteer.headless, true);
    assert.equal(client.options.webVersionCache.path, '/tmp/aegis-wa-test/web-cache');
    for (const method of ['initialize', 'getChats', 'getChatById', 'getContactById', 'searchMessages', 'sendMessage', 'requestPairingCode', 'logout', 'destroy']) {
        assert.equal(typeof client[method], 'function', method);
    }
});
