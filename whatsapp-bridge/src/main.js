// Entry point: `node src/main.js`. Drives a real whatsapp-web.js Client in Debian's chromium.
import path from 'node:path';

import { jsonLog, startBridge } from './app.js';
import { createRealClient } from './client.js';
import { ConfigError, loadConfig } from './config.js';

async function main() {
    const log = jsonLog();
    let config;
    try {
        config = loadConfig();
    } catch (error) {
        if (error instanceof ConfigError) {
            log('config.error', { message: error.message });
            process.exit(2);
        }
        throw error;
    }
    const app = await startBridge({ config, createClient: createRealClient, log });
    log('listening', { host: config.host, port: app.port, data_dir: path.relative(process.cwd(), config.dataDir) });
    const shutdown = async () => {
        await app.close();
        process.exit(0);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
}

main();
