// The bridge's core: one whatsapp-web.js Client at a time, its state for the console (never
// silence), incoming messages into the durable inbox, and relaunches with exponential backoff.
import { CHAT_ID_RE, chatShape, describeMessage } from './shapes.js';

export const STATES = Object.freeze([
    'starting', // the browser is launching or WhatsApp Web is loading
    'pairing', // a QR code or pairing code waits for the phone
    'authenticated', // paired; WhatsApp Web is syncing
    'connected', // ready: messages flow
    'phone_offline', // WhatsApp Web lost its connection (phone or network offline)
    'conflict', // WhatsApp is open on another computer
    'logged_out', // the session ended from the phone or by logout; pairing again is needed
    'auth_failure', // a saved session could not be restored
    'web_changed', // WhatsApp Web changed under the library: the bridge needs an update
    'blocked', // WhatsApp refused the account (terms of service or proxy block)
    'reconnecting', // waiting before the next launch
    'stopped',
]);

// Not messages someone wrote: system notices, undecrypted placeholders (the library emits those again
// as 'message' once decrypted), deleted ones.
const SKIP_TYPES = new Set([
    'ciphertext',
    'e2e_notification',
    'notification',
    'notification_template',
    'gp2',
    'group_notification',
    'broadcast_notification',
    'call_log',
    'protocol',
    'revoked',
    'debug',
]);
const CATCH_UP_CHATS = 50;
// Voice notes ('ptt') and audio messages: their audio is handed to Aegis to transcribe.
const VOICE_TYPES = new Set(['ptt', 'audio']);
const MAX_VOICE_BYTES = 16 * 1024 * 1024;
const MESSAGE_ID_RE = /^(true|false)_[0-9A-Za-z@._-]{5,200}$/;
const CATCH_UP_MESSAGES = 50;

// Kept as `last_problem` in the status until the next problem, so a relaunch never hides it.
const PROBLEMS = new Set(['phone_offline', 'conflict', 'logged_out', 'auth_failure', 'web_changed', 'blocked', 'reconnecting']);

const WEB_CHANGED_RE = /Evaluation failed|is not a function|Cannot read propert|WWebJS|AuthStore|Execution context was destroyed|DEPRECATED_VERSION/i;

export class BridgeError extends Error {
    constructor(status, code, message, extra = {}) {
        super(message);
        this.status = status;
        this.code = code;
        this.extra = extra;
    }
}

export class Bridge {
    constructor({
        createClient,
        inbox,
        log = () => {},
        backoff = {},
        startTimeoutMs = 180_000,
        random = Math.random,
        now = Date.now,
        timers = globalThis,
    }) {
        this.startTimeoutMs = startTimeoutMs;
        this.watchdog = null;
        this.createClient = createClient;
        this.inbox = inbox;
        this.log = log;
        this.backoff = { baseMs: backoff.baseMs ?? 2000, maxMs: backoff.maxMs ?? 300_000 };
        this.random = random;
        this.now = now;
        this.timers = timers;
        this.client = null;
        this.attempts = 0;
        this.timer = null;
        this.stopped = false;
        this.sent = new Map(); // idempotency key -> Promise of the send result
        this.status = { state: 'stopped', detail: null, since: now(), qr: null, code: null, next_attempt_ms: null };
        this.history = [];
        this.previousProblem = null;
    }

    #set(state, detail = null, extra = {}) {
        const pairing = state === 'pairing';
        this.status = {
            state,
            detail,
            since: this.now(),
            qr: pairing ? ('qr' in extra ? extra.qr : this.status.qr) : null,
            code: pairing ? ('code' in extra ? extra.code : this.status.code) : null,
            next_attempt_ms: extra.next_attempt_ms ?? null,
        };
        if (PROBLEMS.has(state)) this.status.last_problem = { state, detail, at: this.status.since };
        else if (this.previousProblem) this.status.last_problem = this.previousProblem;
        this.previousProblem = this.status.last_problem ?? null;
        this.history.push(state);
        this.log('state', PROBLEMS.has(state) ? { state, detail, level: 'warn' } : { state, detail });
    }

    start() {
        this.stopped = false;
        this.#launch();
    }

    async stop() {
        this.stopped = true;
        this.#loaded();
        if (this.timer) this.timers.clearTimeout(this.timer);
        this.timer = null;
        const client = this.client;
        this.client = null;
        if (client) await client.destroy().catch(() => {});
        this.#set('stopped');
    }

    #launch() {
        this.timer = null;
        if (this.stopped) return;
        const client = this.createClient();
        this.client = client;
        this.#set('starting');
        this.#listen(client);
        // WhatsApp Web that never shows a QR code nor a session is a failure too, not a silent wait.
        this.watchdog = this.timers.setTimeout(() => {
            this.watchdog = null;
            if (!this.#current(client)) return;
            const seconds = Math.round(this.startTimeoutMs / 1000);
            this.#set('reconnecting', `WhatsApp Web did not load within ${seconds} s`);
            this.#relaunch(client);
        }, this.startTimeoutMs);
        client.initialize().catch((error) => this.#initFailed(client, error));
    }

    #loaded() {
        if (this.watchdog) this.timers.clearTimeout(this.watchdog);
        this.watchdog = null;
    }

    #current(client) {
        return client === this.client && !this.stopped;
    }

    #listen(client) {
        const on = (event, handler) =>
            client.on(event, (...args) => {
                if (this.#current(client)) handler(...args);
            });
        for (const event of ['qr', 'code', 'authenticated', 'ready']) on(event, () => this.#loaded());
        on('qr', (qr) => this.#set('pairing', 'scan the QR code with WhatsApp on the phone', { qr, code: null }));
        on('code', (code) => this.#set('pairing', 'enter the pairing code on the phone', { code, qr: null }));
        on('loading_screen', (percent) => {
            if (this.status.state === 'starting' || this.status.state === 'authenticated') {
                this.status.detail = `loading ${Number(percent) || 0}%`;
            }
        });
        on('authenticated', () => this.#set('authenticated', 'syncing with the phone'));
        on('auth_failure', (message) => this.#set('auth_failure', String(message || 'the saved session was refused')));
        on('ready', () => {
            this.attempts = 0;
            this.#set('connected');
            this.#catchUp(client).catch((error) => this.log('catch_up.error', { error: error && error.name }));
        });
        on('change_state', (state) => this.#changeState(state));
        on('disconnected', (reason) => this.#disconnected(client, reason));
        on('message', (message) => {
            this.#receive(message).catch((error) => this.log('message.error', { error: error.name }));
        });
    }

    #changeState(state) {
        const map = {
            CONNECTED: ['connected', null],
            TIMEOUT: ['phone_offline', 'WhatsApp Web lost its connection; is the phone online?'],
            CONFLICT: ['conflict', 'WhatsApp is open on another computer'],
            DEPRECATED_VERSION: ['web_changed', 'WhatsApp Web reports this version as deprecated'],
            UNPAIRED: ['logged_out', 'the phone unlinked this device'],
            UNPAIRED_IDLE: ['logged_out', 'the phone unlinked this device'],
            TOS_BLOCK: ['blocked', 'WhatsApp blocked this account (terms of service)'],
            SMB_TOS_BLOCK: ['blocked', 'WhatsApp blocked this account (terms of service)'],
            PROXYBLOCK: ['blocked', 'WhatsApp refused the network this bridge uses'],
        };
        const found = map[state];
        if (found && found[0] !== this.status.state) this.#set(found[0], found[1]);
    }

    #disconnected(client, reason) {
        const why = String(reason);
        if (why === 'LOGOUT' || why.startsWith('UNPAIRED')) {
            this.#set('logged_out', 'the session ended; pair again from the console');
        } else if (why === 'DEPRECATED_VERSION') {
            this.#set('web_changed', 'WhatsApp Web reports this version as deprecated');
        } else if (!['conflict', 'blocked', 'phone_offline'].includes(this.status.state)) {
            this.#set('reconnecting', `disconnected: ${why}`);
        }
        this.#relaunch(client);
    }

    #initFailed(client, error) {
        if (!this.#current(client)) return;
        const message = String(error && error.message);
        if (WEB_CHANGED_RE.test(message)) {
            this.#set('web_changed', 'WhatsApp Web changed and the library no longer understands it');
        } else {
            this.#set('reconnecting', `could not start WhatsApp Web: ${error && error.name ? error.name : 'Error'}`);
        }
        this.#relaunch(client);
    }

    #relaunch(client) {
        if (!this.#current(client) || this.timer) return;
        this.#loaded();
        const delay = Math.min(this.backoff.maxMs, this.backoff.baseMs * 2 ** this.attempts) * (0.5 + this.random() / 2);
        this.attempts += 1;
        this.status.next_attempt_ms = Math.round(delay);
        this.log('relaunch', { attempt: this.attempts, delay_ms: Math.round(delay) });
        this.client = null;
        client.destroy().catch(() => {});
        this.timer = this.timers.setTimeout(() => this.#launch(), delay);
    }

    // Unread messages that arrived while the bridge was down: WhatsApp Web syncs them as history, not
    // always as 'message' events, so they are read from unread chats once connected. What is still
    // pending is stored once; what Aegis already acknowledged comes again and Aegis stores it once.
    async #catchUp(client) {
        const chats = (await client.getChats()).filter((c) => c.unreadCount > 0);
        let found = 0;
        for (const chat of chats.slice(0, CATCH_UP_CHATS)) {
            if (!this.#current(client)) return;
            const messages = await chat.fetchMessages({ limit: Math.min(chat.unreadCount, CATCH_UP_MESSAGES) });
            for (const message of messages) {
                if (!message.fromMe) {
                    await this.#receive(message);
                    found += 1;
                }
            }
        }
        this.log('catch_up', { chats: Math.min(chats.length, CATCH_UP_CHATS), messages: found });
    }

    async #receive(message) {
        if (message.fromMe || message.isStatus || message.from === 'status@broadcast') return;
        if (SKIP_TYPES.has(message.type)) return;
        const shaped = await describeMessage(message, new Map());
        if (!shaped.id) return;
        const stored = await this.inbox.put({ ...shaped, received_at: Math.floor(this.now() / 1000) });
        this.log('message.stored', { stored, pending: this.inbox.size });
    }

    #ready() {
        if (!this.client || this.status.state !== 'connected') {
            throw new BridgeError(409, 'not_connected', `WhatsApp is not connected (state: ${this.status.state})`, {
                state: this.status.state,
            });
        }
        return this.client;
    }

    async chats(limit) {
        const chats = await this.#ready().getChats();
        return chats
            .map(chatShape)
            .sort((a, b) => b.timestamp - a.timestamp)
            .slice(0, limit);
    }

    async messages(chatId, limit) {
        checkChatId(chatId);
        const chat = await this.#ready().getChatById(chatId);
        if (!chat) throw new BridgeError(404, 'no_such_chat', 'no such chat');
        const contacts = new Map();
        const found = await chat.fetchMessages({ limit });
        return Promise.all(found.map((m) => describeMessage(m, contacts)));
    }

    async search(query, { chatId, limit }) {
        if (chatId) checkChatId(chatId);
        const found = await this.#ready().searchMessages(query, { chatId: chatId || undefined, limit, page: 1 });
        const contacts = new Map();
        return Promise.all(found.map((m) => describeMessage(m, contacts)));
    }

    async send(chatId, body, key) {
        checkChatId(chatId);
        if (typeof body !== 'string' || !body.trim() || body.length > 4096) {
            throw new BridgeError(400, 'bad_body', 'body must be 1-4096 characters');
        }
        const client = this.#ready();
        if (key && this.sent.has(key)) return this.sent.get(key);
        const pending = client.sendMessage(chatId, body).then((m) => ({
            id: m.id._serialized,
            chat_id: chatId,
            timestamp: Number(m.timestamp) || Math.floor(this.now() / 1000),
        }));
        if (key) {
            this.sent.set(key, pending);
            pending.catch(() => this.sent.delete(key));
            if (this.sent.size > 1000) this.sent.delete(this.sent.keys().next().value);
        }
        return pending;
    }

    // The audio of one voice note, base64 as whatsapp-web.js gives it (downloadMedia()).
    async voiceNote(messageId) {
        if (typeof messageId !== 'string' || !MESSAGE_ID_RE.test(messageId)) {
            throw new BridgeError(400, 'bad_message_id', 'not a WhatsApp message id');
        }
        const message = await this.#ready().getMessageById(messageId);
        if (!message) throw new BridgeError(404, 'no_such_message', 'no such message');
        if (!VOICE_TYPES.has(message.type) || !message.hasMedia) {
            throw new BridgeError(415, 'not_a_voice_note', 'the message is not a voice note');
        }
        const media = await message.downloadMedia();
        if (!media || typeof media.data !== 'string' || !media.data) {
            throw new BridgeError(404, 'media_gone', 'WhatsApp no longer has the voice note');
        }
        const size = Buffer.byteLength(media.data, 'base64');
        if (size > MAX_VOICE_BYTES) throw new BridgeError(413, 'too_large', 'the voice note is larger than 16 MB');
        return { mimetype: String(media.mimetype || 'application/octet-stream'), data: media.data, size };
    }

    async requestPairingCode(phoneNumber) {
        if (typeof phoneNumber !== 'string' || !/^[0-9]{6,15}$/.test(phoneNumber)) {
            throw new BridgeError(400, 'bad_phone_number', 'phone_number must be 6-15 digits, country code first');
        }
        if (!this.client || this.status.state !== 'pairing') {
            throw new BridgeError(409, 'not_pairing', `no pairing in progress (state: ${this.status.state})`, {
                state: this.status.state,
            });
        }
        const code = await this.client.requestPairingCode(phoneNumber);
        this.#set('pairing', 'enter the pairing code on the phone', { code, qr: null });
        return code;
    }

    async logout() {
        const client = this.#ready();
        await client.logout();
        this.#set('logged_out', 'logged out from Aegis');
        this.#relaunch(client);
    }
}

export function checkChatId(chatId) {
    if (typeof chatId !== 'string' || !CHAT_ID_RE.test(chatId)) {
        throw new BridgeError(400, 'bad_chat_id', 'chat_id must look like <number>@c.us, <id>@g.us or <id>@lid');
    }
}
