// The demo profile's bridge: the real bridge (HTTP API, token checks, inbox, backoff) driving the fake
// WhatsApp the tests use, so `aegis up` in the demo looks alive without a phone or a browser.
// Chats are dated relative to now; logging out shows a QR code that rotates every 10 s, and the
// "phone" scans it after 30 s; a new message arrives now and then.
import { configOrExit, jsonLog, startBridge } from './app.js';
import { FakeClient, FakeWorld } from '../test/support/fake-client.js';

const QR_EVERY_MS = 10_000;
const SCAN_AFTER_MS = 30_000;
const NEW_MESSAGE_EVERY_MS = 6 * 60_000;

const SAM = '15550000002@c.us';
const NOOR = '15550000004@c.us';
const FAMILY = '120363000000000001@g.us';

function demoWorld(nowSeconds = Math.floor(Date.now() / 1000)) {
    const world = new FakeWorld({ paired: true });
    world.contacts.set(SAM, { name: 'Sam Rivera', pushname: 'Sam', isMyContact: true });
    world.contacts.set(NOOR, { name: 'Noor Haddad', pushname: 'Noor', isMyContact: true });
    world.contacts.set('15550000003@c.us', { name: 'Mum', pushname: 'Mum', isMyContact: true });
    world.contacts.set('15550000005@c.us', { name: undefined, pushname: 'Aegis Owner', isMyContact: false });
    world.chats = new Map([
        [SAM, { name: 'Sam Rivera', isGroup: false, unreadCount: 0, t: 0, messages: [] }],
        [NOOR, { name: 'Noor Haddad', isGroup: false, unreadCount: 0, t: 0, messages: [] }],
        [FAMILY, { name: 'Family', isGroup: true, unreadCount: 0, t: 0, messages: [] }],
    ]);
    const history = [
        [SAM, null, 'Did you see the match last night?', 26 * 3600, false],
        [SAM, null, 'Ha, yes. What a finish', 25 * 3600, true],
        [FAMILY, '15550000003@c.us', 'Dinner at 7 on Sunday, everyone?', 20 * 3600, false],
        [FAMILY, null, 'Count me in', 19 * 3600, true],
        [NOOR, null, 'Thanks for the notes from Tuesday!', 9 * 3600, true],
        [FAMILY, '15550000005@c.us', 'New phone, save this number. Can someone send me the wifi password?', 5 * 3600, false],
        [NOOR, null, 'Can you review my draft before Friday?', 3 * 3600, false],
        [SAM, null, 'Still on for lunch tomorrow? 12:30 at the usual place', 40 * 60, false],
    ];
    for (const [chatId, author, body, ago, fromMe] of history) {
        const chat = world.chats.get(chatId);
        const raw = world.rawMessage({ chatId, author: author ?? undefined, body, fromMe, t: nowSeconds - ago });
        chat.messages.push(raw);
        chat.t = raw.t;
        chat.unreadCount = fromMe ? 0 : chat.unreadCount + 1;
    }
    return world;
}

const NEW_MESSAGES = [
    [SAM, 'Running 5 minutes late, sorry!'],
    [NOOR, 'Sent you the draft, no rush'],
    [SAM, 'Are we still splitting the bill?'],
];

async function main() {
    const log = jsonLog();
    const config = configOrExit(log);
    const world = demoWorld();
    const app = await startBridge({ config, createClient: () => new FakeClient(world), log });
    log('listening', { host: config.host, port: app.port, tls: Boolean(config.tls), demo: true });
    let rotations = 0;
    let pairingSince = null;
    const qrTimer = setInterval(() => {
        const client = world.client;
        if (!client || world.paired || app.bridge.status.state !== 'pairing') {
            pairingSince = null;
            return;
        }
        pairingSince ??= Date.now();
        if (Date.now() - pairingSince >= SCAN_AFTER_MS) client.connect();
        else client.emit('qr', `2@demo-qr-${(rotations += 1)}-${Date.now()}`);
    }, QR_EVERY_MS);
    let next = 0;
    const messageTimer = setInterval(() => {
        if (!world.paired || !world.client) return;
        const [chatId, body] = NEW_MESSAGES[next % NEW_MESSAGES.length];
        next += 1;
        world.client.receive({ chatId, body, t: Math.floor(Date.now() / 1000) });
        world.chats.get(chatId).t = Math.floor(Date.now() / 1000);
    }, NEW_MESSAGE_EVERY_MS);
    const shutdown = async () => {
        clearInterval(qrTimer);
        clearInterval(messageTimer);
        await app.close();
        process.exit(0);
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
}

main();
