// The real whatsapp-web.js Client, driving Debian's chromium (no downloaded browser).
import path from 'node:path';

import wweb from 'whatsapp-web.js';

const { Client, LocalAuth } = wweb;

// The events the bridge listens to, as whatsapp-web.js names them (its `Events` enum).
export const LISTENED = ['qr', 'code', 'loading_screen', 'authenticated', 'auth_failure', 'ready', 'change_state', 'disconnected', 'message'];

export function createRealClient(config) {
    return new Client({
        // The session is a Chromium profile in <dataDir>/session, inside the 0700 data folder.
        authStrategy: new LocalAuth({ dataPath: config.dataDir }),
        puppeteer: {
            executablePath: config.chromium,
            headless: true,
            args: ['--no-sandbox', '--disable-setuid-sandbox', '--disable-dev-shm-usage'],
        },
        // The WhatsApp Web page cache, also inside the data folder (the default is ./.wwebjs_cache).
        webVersionCache: { type: 'local', path: path.join(config.dataDir, 'web-cache') },
        takeoverOnConflict: false,
        deviceName: 'Aegis',
    });
}
