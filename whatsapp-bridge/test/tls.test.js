// The bridge as an HTTPS server: a certificate from the internal CA script (deploy/make-ca.sh), TLS 1.3
// only, and clients that do not trust that CA get no answer at all.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { harness } from './support/harness.js';

const MAKE_CA = fileURLToPath(new URL('../../deploy/make-ca.sh', import.meta.url));

function makeCa(dir) {
    const env = { ...process.env, AEGIS_TLS_SERVICES: 'local:localhost,IP:127.0.0.1' };
    execFileSync(MAKE_CA, [dir], { env, stdio: 'ignore' });
    return { certFile: path.join(dir, 'local.crt'), keyFile: path.join(dir, 'local.key'), caFile: path.join(dir, 'ca.crt') };
}

function get(port, route, { ca, token, ...tlsOptions } = {}) {
    return new Promise((resolve, reject) => {
        const headers = token ? { authorization: `Bearer ${token}` } : {};
        const req = https.request({ host: '127.0.0.1', port, path: route, ca, headers, agent: false, ...tlsOptions }, (res) => {
            const protocol = res.socket.getProtocol();
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode, protocol, body: JSON.parse(Buffer.concat(chunks).toString()) }));
        });
        req.on('error', reject);
        req.end();
    });
}

let dir;
let tls;
let other;
let h;

before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'wa-bridge-tls-'));
    tls = makeCa(path.join(dir, 'ours'));
    other = makeCa(path.join(dir, 'theirs'));
    h = await harness({ tls: { certFile: tls.certFile, keyFile: tls.keyFile } });
});

after(async () => {
    await h.close();
    await fs.rm(dir, { recursive: true, force: true });
});

test('serves HTTPS over TLS 1.3 to a client that trusts the internal CA, tokens still required', async () => {
    const ca = await fs.readFile(tls.caFile);
    const ok = await get(h.app.port, '/v1/status', { ca, token: h.token });
    assert.equal(ok.status, 200);
    assert.equal(ok.protocol, 'TLSv1.3');
    assert.ok(typeof ok.body.state === 'string');
    const anonymous = await get(h.app.port, '/v1/status', { ca });
    assert.equal(anonymous.status, 401);
});

test('refuses TLS 1.2, plain HTTP, and is refused by clients of another CA', async () => {
    const ca = await fs.readFile(tls.caFile);
    await assert.rejects(get(h.app.port, '/v1/status', { ca, maxVersion: 'TLSv1.2' }), (e) => e.code === 'EPROTO' && /protocol version/.test(e.message));
    await assert.rejects(get(h.app.port, '/v1/status', { ca: await fs.readFile(other.caFile) }), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' });
    await assert.rejects(fetch(`http://127.0.0.1:${h.app.port}/v1/status`));
    await until(() => h.logs.some((l) => l.event === 'tls.refused'));
});

async function until(predicate) {
    for (let i = 0; i < 200 && !predicate(); i += 1) await new Promise((r) => setTimeout(r, 5));
    assert.ok(predicate());
}
