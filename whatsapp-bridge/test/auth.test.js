import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';

import { harness } from './support/harness.js';
import { mint, newKey } from './support/keys.js';

describe('every request needs a valid broker token', () => {
    let h;
    before(async () => {
        h = await harness();
    });
    after(async () => h.close());

    test('a valid token is answered', async () => {
        const r = await h.call('GET', '/v1/status');
        assert.equal(r.status, 200);
        assert.ok(r.body.state);
    });

    test('no token, no answer (even on unknown routes)', async () => {
        for (const route of ['/v1/status', '/v1/inbox', '/nowhere']) {
            const r = await h.call('GET', route, { auth: null });
            assert.equal(r.status, 401, route);
            assert.equal(r.body.error, 'missing_token');
            assert.match(r.headers.get('www-authenticate'), /^Bearer /);
            assert.equal(r.body.state, undefined);
        }
    });

    test('a wrong audience is refused', async () => {
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ aud: 'aegis' }) });
        assert.equal(r.status, 401);
        assert.match(r.body.message, /aud/);
    });

    test('two audiences are refused', async () => {
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ aud: ['whatsapp-bridge', 'aegis'] }) });
        assert.equal(r.status, 401);
    });

    test('an expired token is refused', async () => {
        const now = Math.floor(Date.now() / 1000);
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ iat: now - 400, nbf: now - 400, exp: now - 60 }) });
        assert.equal(r.status, 401);
        assert.equal(r.body.message, 'the token has expired');
    });

    test('a token signed by a foreign key with the same kid is refused', async () => {
        const foreign = await newKey('ks-test-1');
        const r = await h.call('GET', '/v1/status', { auth: await mint(foreign) });
        assert.equal(r.status, 401);
        assert.equal(r.body.message, 'the token signature is invalid');
    });

    test('a token signed by an unknown kid is refused', async () => {
        const foreign = await newKey('ks-other');
        const r = await h.call('GET', '/v1/status', { auth: await mint(foreign) });
        assert.equal(r.status, 401);
    });

    test('a plain JWT typ is refused (RFC 9068 at+jwt only)', async () => {
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({}, { typ: 'JWT' }) });
        assert.equal(r.status, 401);
        assert.match(r.body.message, /typ/);
    });

    test('another issuer is refused', async () => {
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ iss: 'http://evil.test' }) });
        assert.equal(r.status, 401);
        assert.match(r.body.message, /iss/);
    });

    test('a lifetime over 1800 s is refused', async () => {
        const now = Math.floor(Date.now() / 1000);
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ exp: now + 3600 }) });
        assert.equal(r.status, 401);
    });

    test('a token for another resource is forbidden', async () => {
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ resource: 'mcp:gmail' }) });
        assert.equal(r.status, 403);
        assert.equal(r.body.error, 'wrong_resource');
    });

    test('each route needs its scope', async () => {
        const readOnly = await h.mint({ scope: 'whatsapp.read' });
        const send = await h.call('POST', '/v1/messages', { auth: readOnly, body: { chat_id: '15550000002@c.us', body: 'hi' } });
        assert.equal(send.status, 403);
        assert.equal(send.body.error, 'insufficient_scope');
        assert.equal(h.world.sent.length, 0);
        const pairing = await h.call('GET', '/v1/pairing', { auth: readOnly });
        assert.equal(pairing.status, 403);
        const inbox = await h.call('GET', '/v1/inbox', { auth: readOnly });
        assert.equal(inbox.status, 200);
    });

    test('a token missing a required claim is refused', async () => {
        const r = await h.call('GET', '/v1/status', { auth: await h.mint({ jti: undefined }) });
        assert.equal(r.status, 401);
    });

    test('after the token: unknown routes 404, wrong methods 405, bad bodies 400', async () => {
        assert.equal((await h.call('GET', '/nowhere')).status, 404);
        assert.equal((await h.call('DELETE', '/v1/inbox')).status, 405);
        const res = await fetch(`http://127.0.0.1:${h.app.port}/v1/inbox/ack`, {
            method: 'POST',
            headers: { authorization: `Bearer ${h.token}`, 'content-type': 'application/json' },
            body: '[1,2',
        });
        assert.equal(res.status, 400);
        const big = await h.call('POST', '/v1/inbox/ack', { body: { ids: ['x'.repeat(70_000)] } });
        assert.equal(big.status, 413);
    });

    test('the token never appears in the logs', async () => {
        await h.call('GET', '/v1/status');
        assert.ok(h.logs.length > 0);
        assert.ok(!JSON.stringify(h.logs).includes(h.token));
    });
});
