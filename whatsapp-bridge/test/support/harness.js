// Starts the bridge in-process with a fake client and a loopback JWKS; returns helpers for requests.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { remoteKeys } from '../../src/auth.js';
import { startBridge } from '../../src/app.js';
import { FakeClient, FakeWorld } from './fake-client.js';
import { ISSUER, mint, newKey, serveJwks } from './keys.js';

export async function harness({ paired = true, dataDir, world, backoff = { baseMs: 5, maxMs: 40 }, startTimeoutMs, tls = null } = {}) {
    const key = await newKey('ks-test-1');
    const jwks = await serveJwks([key]);
    const dir = dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'wa-bridge-')));
    const w = world ?? new FakeWorld({ paired });
    const logs = [];
    const config = { host: '127.0.0.1', port: 0, issuer: ISSUER, jwksUrl: jwks.url, resources: ['mcp:whatsapp'], dataDir: dir, tls };
    const app = await startBridge({
        config,
        createClient: () => new FakeClient(w),
        keys: remoteKeys(jwks.url),
        log: (event, fields) => logs.push({ event, ...fields }),
        backoff,
        startTimeoutMs,
    });
    const base = `http://127.0.0.1:${app.port}`;
    const token = await mint(key);
    const call = async (method, route, { body, auth = token, headers = {} } = {}) => {
        const h = { ...headers };
        if (auth) h.authorization = `Bearer ${auth}`;
        if (body !== undefined) h['content-type'] = 'application/json';
        const res = await fetch(base + route, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, body: await res.json(), headers: res.headers };
    };
    const close = async () => {
        await app.close();
        await jwks.close();
    };
    return { app, world: w, key, jwks, dir, logs, call, token, close, mint: (o, h) => mint(key, o, h) };
}

export async function until(predicate, { timeoutMs = 3000, stepMs = 5 } = {}) {
    const end = Date.now() + timeoutMs;
    while (Date.now() < end) {
        if (await predicate()) return;
        await new Promise((r) => setTimeout(r, stepMs));
    }
    throw new Error('condition not met in time');
}
