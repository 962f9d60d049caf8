import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { ConfigError, loadConfig } from '../src/config.js';

test('loopback by default, with the broker JWKS derived from the issuer', () => {
    const c = loadConfig({});
    assert.equal(c.host, '127.0.0.1');
    assert.equal(c.port, 3001);
    assert.equal(c.jwksUrl.href, 'http://127.0.0.1:8421/.well-known/jwks.json');
    assert.deepEqual(c.resources, ['mcp:whatsapp']);
    assert.equal(c.dataDir, path.resolve('data/whatsapp-bridge'));
});

test('another interface only when the deploy says so', () => {
    assert.throws(() => loadConfig({ WHATSAPP_BRIDGE_HOST: '0.0.0.0' }), ConfigError);
    const c = loadConfig({ WHATSAPP_BRIDGE_HOST: '0.0.0.0', WHATSAPP_BRIDGE_ALLOW_NETWORK: 'true' });
    assert.equal(c.host, '0.0.0.0');
    assert.throws(() => loadConfig({ WHATSAPP_BRIDGE_PORT: 'http' }), ConfigError);
});
