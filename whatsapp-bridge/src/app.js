// Composition: the session folder, the inbox, the bridge and the HTTP server, for a given Client
// factory (the real whatsapp-web.js Client in main.js, a fake in the tests).
import fs from 'node:fs/promises';
import path from 'node:path';

import { makeVerifier, remoteKeys } from './auth.js';
import { Bridge } from './bridge.js';
import { createServer } from './http.js';
import { ConfigError, loadConfig, loadTls } from './config.js';
import { Inbox } from './inbox.js';

export function jsonLog(stream = process.stderr) {
    return (event, fields = {}) => stream.write(`${JSON.stringify({ ts: new Date().toISOString(), event, ...fields })}\n`);
}

// The settings, or exit with status 2 saying what is wrong (a bad setting is not worth a restart loop).
export function configOrExit(log) {
    try {
        const config = loadConfig();
        if (config.tls) loadTls(config.tls); // readable now, or no start
        return config;
    } catch (error) {
        if (error instanceof ConfigError) {
            log('config.error', { message: error.message });
            process.exit(2);
        }
        throw error;
    }
}

// The data folder holds the WhatsApp session and the inbox; only the bridge's user may enter it.
export async function privateDir(dir) {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    await fs.chmod(dir, 0o700);
    return dir;
}

export async function startBridge({ config, createClient, keys, log = jsonLog(), backoff, startTimeoutMs, listen = true }) {
    await privateDir(config.dataDir);
    const inbox = await new Inbox(path.join(config.dataDir, 'inbox')).open();
    const bridge = new Bridge({ createClient: () => createClient(config), inbox, log, backoff, startTimeoutMs });
    const verify = makeVerifier({ keys: keys ?? remoteKeys(config.jwksUrl), issuer: config.issuer, resources: config.resources });
    const server = createServer({ bridge, verify, log, tls: config.tls ? loadTls(config.tls) : null });
    if (listen) {
        await new Promise((resolve, reject) => {
            server.once('error', reject);
            server.listen(config.port, config.host, resolve);
        });
    }
    bridge.start();
    const close = async () => {
        await bridge.stop();
        await new Promise((resolve) => server.close(resolve));
    };
    return { server, bridge, inbox, close, port: listen ? server.address().port : null };
}
