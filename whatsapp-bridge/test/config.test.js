import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';

import { ConfigError, loadConfig, loadTls } from '../src/config.js';

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
    const c = loadConfig({ WHATSAPP_BRIDGE_HOST: '0.0.0.0', WHATSAPP_BRIDGE_ALLOW_NETWORK: 'true', WHATSAPP_BRIDGE_TLS_CERT_FILE: 'c', WHATSAPP_BRIDGE_TLS_KEY_FILE: 'k' });
    assert.equal(c.host, '0.0.0.0');
    assert.throws(() => loadConfig({ WHATSAPP_BRIDGE_PORT: 'http' }), ConfigError);
});

test('plain HTTP on loopback only; TLS files come in pairs; production needs them', () => {
    const files = { WHATSAPP_BRIDGE_TLS_CERT_FILE: '/run/secrets/c', WHATSAPP_BRIDGE_TLS_KEY_FILE: '/run/secrets/k' };
    assert.equal(loadConfig({}).tls, null);
    assert.throws(
        () => loadConfig({ WHATSAPP_BRIDGE_HOST: '10.0.0.2', WHATSAPP_BRIDGE_ALLOW_NETWORK: 'true' }),
        /refusing plain HTTP on 10\.0\.0\.2/,
    );
    const deployed = loadConfig({ ...files, WHATSAPP_BRIDGE_HOST: '10.0.0.2', WHATSAPP_BRIDGE_ALLOW_NETWORK: 'true', AEGIS_MODE: 'production' });
    assert.deepEqual(deployed.tls, { certFile: '/run/secrets/c', keyFile: '/run/secrets/k' });
    assert.throws(() => loadConfig({ AEGIS_MODE: 'production' }), /production mode needs WHATSAPP_BRIDGE_TLS_CERT_FILE/);
    assert.throws(() => loadConfig({ WHATSAPP_BRIDGE_TLS_CERT_FILE: '/run/secrets/c' }), /both/);
    assert.throws(() => loadTls({ certFile: '/nonexistent/c', keyFile: '/nonexistent/k' }), /cannot read \/nonexistent\/c: ENOENT/);
});
