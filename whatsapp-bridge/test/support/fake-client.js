// A fake whatsapp-web.js Client: the library's real event names ('qr', 'code', 'authenticated',
// 'auth_failure', 'ready', 'change_state', 'disconnected', 'message', 'message_create') and objects
// shaped like its Message, Chat and Contact (src/structures/*.js of whatsapp-web.js 1.34.7).
// It never starts a browser or reaches WhatsApp.
import { EventEmitter } from 'node:events';

export const ME = '15550000001@c.us';

// The state every Client instance shares, so it survives the bridge relaunching its client.
export class FakeWorld {
    constructor({ paired = false } = {}) {
        this.paired = paired;
        this.initFailure = null; // an Error the next initialize() rejects with
        this.hangs = 0; // how many next initialize() calls load nothing at all
        this.clients = [];
        this.sent = [];
        this.contacts = new Map([
            ['15550000002@c.us', { name: 'Alice Saved', pushname: 'alice', isMyContact: true }],
            ['15550000003@c.us', { name: undefined, pushname: 'Aegis Owner', isMyContact: false }],
        ]);
        this.chats = new Map([
            ['15550000002@c.us', { name: 'Alice Saved', isGroup: false, unreadCount: 0, t: 1_790_000_100, messages: [] }],
            ['120363000000000001@g.us', { name: 'Family', isGroup: true, unreadCount: 0, t: 1_790_000_050, messages: [] }],
        ]);
        this.seq = 0;
    }

    get client() {
        return this.clients.at(-1);
    }

    // A message that arrived while no client was running: only in the chat's history, unread.
    arrivedWhileOffline(fields) {
        const data = this.rawMessage(fields);
        const chat = this.chats.get(fields.chatId);
        chat.messages.push(data);
        chat.unreadCount += 1;
        return data;
    }

    // A raw message as WhatsApp Web's model gives it (the `data` Message._patch reads).
    rawMessage({ chatId, author, body, fromMe = false, t, type = 'chat', links = [], id, media, duration }) {
        this.seq += 1;
        const key = id ?? `3EB0${String(this.seq).padStart(16, '0')}`;
        const serialized = `${fromMe}_${chatId}_${key}${author ? `_${author}` : ''}`;
        return {
            id: { fromMe, remote: chatId, id: key, _serialized: serialized },
            body,
            type,
            t: t ?? 1_790_000_000 + this.seq,
            from: fromMe ? ME : chatId,
            to: fromMe ? chatId : ME,
            author,
            ack: 1,
            isForwarded: false,
            links: links.map((link) => ({ link, isSuspicious: false })),
            // Media: WhatsApp Web's model has a directPath when there is something to download.
            ...(media ? { directPath: '/v/t62.7117-24/fake', mimetype: media.mimetype, duration, _media: media } : {}),
        };
    }
}

export class FakeMessage {
    constructor(client, data) {
        this.client = client;
        this._data = data;
        this.id = data.id;
        this.ack = data.ack;
        this.hasMedia = Boolean(data.directPath);
        this.body = data.body || '';
        this.type = data.type;
        this.timestamp = data.t;
        this.from = data.from;
        this.to = data.to;
        this.author = data.author;
        this.isForwarded = data.isForwarded;
        this.isStatus = data.id.remote === 'status@broadcast';
        this.fromMe = data.id.fromMe;
        this.hasQuotedMsg = Boolean(data.quotedMsg);
        this.duration = data.duration;
        this.mentionedIds = [];
        this.links = data.links;
    }

    getChat() {
        return this.client.getChatById(this.fromMe ? this.to : this.from);
    }

    // MessageMedia {mimetype, data (base64), filename, filesize}, or undefined once WhatsApp dropped it.
    async downloadMedia() {
        const media = this._data._media;
        return media ? { mimetype: media.mimetype, data: media.data, filename: null, filesize: null } : undefined;
    }

    getContact() {
        return this.client.getContactById(this.author || this.from);
    }
}

export class FakeClient extends EventEmitter {
    constructor(world) {
        super();
        this.world = world;
        this.destroyed = false;
        this.initialized = 0;
        world.clients.push(this);
    }

    async initialize() {
        this.initialized += 1;
        if (this.world.initFailure) {
            const failure = this.world.initFailure;
            this.world.initFailure = null;
            throw failure;
        }
        if (this.world.hangs > 0) {
            this.world.hangs -= 1;
            return;
        }
        setImmediate(() => {
            if (this.world.paired) this.connect();
            else this.emit('qr', `2@fake-qr-${this.world.clients.length}`);
        });
    }

    // What the library emits once the phone scanned the QR code.
    connect() {
        this.world.paired = true;
        this.emit('authenticated', undefined);
        this.emit('loading_screen', 100, 'WhatsApp');
        this.emit('ready');
    }

    // An incoming message: the library emits 'message_create' then 'message' for one not from us.
    receive(fields) {
        const data = this.world.rawMessage(fields);
        const chat = this.world.chats.get(fields.chatId);
        if (chat) {
            chat.messages.push(data);
            if (!data.id.fromMe) chat.unreadCount += 1;
        }
        const message = new FakeMessage(this, data);
        this.emit('message_create', message);
        if (!data.id.fromMe) this.emit('message', message);
        return message;
    }

    #chat(id) {
        const c = this.world.chats.get(id);
        if (!c) return undefined;
        const client = this;
        const last = c.messages.at(-1);
        return {
            id: { server: id.split('@')[1], user: id.split('@')[0], _serialized: id },
            name: c.name,
            isGroup: c.isGroup,
            isReadOnly: false,
            unreadCount: c.unreadCount,
            timestamp: c.t,
            archived: false,
            pinned: false,
            isMuted: false,
            lastMessage: last ? new FakeMessage(client, last) : undefined,
            async fetchMessages({ limit = Infinity } = {}) {
                return c.messages.slice(-limit).map((m) => new FakeMessage(client, m));
            },
        };
    }

    async getChats() {
        return [...this.world.chats.keys()].map((id) => this.#chat(id));
    }

    async getChatById(id) {
        return this.#chat(id);
    }

    async getContactById(id) {
        const c = this.world.contacts.get(id) || {};
        return {
            id: { server: 'c.us', user: id.split('@')[0], _serialized: id },
            number: id.split('@')[0],
            name: c.name,
            pushname: c.pushname,
            shortName: c.name,
            isMe: id === ME,
            isUser: true,
            isGroup: false,
            isMyContact: Boolean(c.isMyContact),
            isBlocked: false,
        };
    }

    async getMessageById(id) {
        for (const c of this.world.chats.values()) {
            const found = c.messages.find((m) => m.id._serialized === id);
            if (found) return new FakeMessage(this, found);
        }
        return null;
    }

    async searchMessages(query, { chatId, limit = 20 } = {}) {
        const hits = [];
        for (const [id, c] of this.world.chats) {
            if (chatId && id !== chatId) continue;
            for (const m of c.messages) if (m.body.toLowerCase().includes(query.toLowerCase())) hits.push(m);
        }
        return hits.slice(0, limit).map((m) => new FakeMessage(this, m));
    }

    async sendMessage(chatId, content) {
        this.world.sent.push({ chatId, content });
        const data = this.world.rawMessage({ chatId, body: content, fromMe: true });
        const chat = this.world.chats.get(chatId);
        if (chat) chat.messages.push(data);
        const message = new FakeMessage(this, data);
        setImmediate(() => this.emit('message_create', message));
        return message;
    }

    async requestPairingCode(phoneNumber) {
        const code = `FAKE${phoneNumber.slice(-4)}`;
        this.emit('code', code);
        return code;
    }

    async logout() {
        this.world.paired = false;
    }

    async destroy() {
        this.destroyed = true;
    }
}
