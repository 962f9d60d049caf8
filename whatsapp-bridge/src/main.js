// Entry point: `node src/main.js`. Drives a real whatsapp-web.js Client in Debian's chromium.
import path from 'node:path';

import { configOrExit, jsonLog, startBridge } from './app.js';
import { createRealClient } from './client.js';

async function main() {
    const log = jsonLog();
    const config = configOrExit(log);
    const app = await startBridge({ config, createClient: createRealClient, log });
    log('listening', { host: config.host, port: app.port, tls: Boolean(config.tls), data_dir: path.relative(process.cwd(), config.dataDir) });
    const shutdown = async () => {
        await app.close();
        process.exit(0);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
}

main();
