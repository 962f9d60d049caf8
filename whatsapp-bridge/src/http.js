// The bridge's HTTP API (JSON). Every route needs a broker token with the route's scope.
//   GET  /v1/status                       whatsapp.status   state, detail, last problem (no QR)
//   GET  /v1/pairing                      whatsapp.pair     state plus the current QR / pairing code
//   POST /v1/pairing/code {phone_number}  whatsapp.pair     ask for a pairing code instead of a QR
//   POST /v1/logout                       whatsapp.pair     unlink this device
//   GET  /v1/chats?limit=                 whatsapp.read     recent chats
//   GET  /v1/chats/{id}/messages?limit=   whatsapp.read     messages of one chat
//   GET  /v1/search?q=&chat_id=&limit=    whatsapp.read     search messages
//   GET  /v1/inbox?limit=                 whatsapp.read     received messages not yet acknowledged
//   POST /v1/inbox/ack {ids}              whatsapp.read     forget acknowledged messages
//   POST /v1/messages {chat_id, body, idempotency_key?}  whatsapp.send
//   GET  /v1/messages/{id}/voice          whatsapp.read     a voice note's audio {mimetype, data (base64), size}
// With `tls` ({cert, key}) the server is HTTPS and accepts TLS 1.3 only; without, plain HTTP (loopback).
import http from 'node:http';
import https from 'node:https';

import { AuthError, SCOPES } from './auth.js';
import { BridgeError } from './bridge.js';

const MAX_BODY = 64 * 1024;

class HttpError extends Error {
    constructor(status, code, message) {
        super(message);
        this.status = status;
        this.code = code;
    }
}

function limitOf(url, fallback, max) {
    const raw = url.searchParams.get('limit');
    if (raw === null) return fallback;
    const n = Number.parseInt(raw, 10);
    if (!Number.isInteger(n) || n < 1 || n > max || String(n) !== raw) {
        throw new HttpError(400, 'bad_limit', `limit must be 1-${max}`);
    }
    return n;
}

async function readJson(req) {
    if (!(req.headers['content-type'] || '').startsWith('application/json')) {
        throw new HttpError(415, 'unsupported_media_type', 'send application/json');
    }
    const chunks = [];
    let size = 0;
    for await (const chunk of req) {
        size += chunk.length;
        if (size > MAX_BODY) throw new HttpError(413, 'too_large', 'request body too large');
        chunks.push(chunk);
    }
    try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (body && typeof body === 'object' && !Array.isArray(body)) return body;
    } catch {
        // fall through
    }
    throw new HttpError(400, 'bad_json', 'the body must be a JSON object');
}

function routes(bridge) {
    const statusOf = () => {
        const { qr, code, ...rest } = bridge.status;
        return { ...rest, pending: bridge.inbox.size };
    };
    return [
        ['GET', /^\/v1\/status$/, SCOPES.status, async () => statusOf()],
        ['GET', /^\/v1\/pairing$/, SCOPES.pair, async () => ({ ...statusOf(), qr: bridge.status.qr, code: bridge.status.code })],
        [
            'POST',
            /^\/v1\/pairing\/code$/,
            SCOPES.pair,
            async ({ req }) => ({ code: await bridge.requestPairingCode((await readJson(req)).phone_number) }),
        ],
        ['POST', /^\/v1\/logout$/, SCOPES.pair, async () => (await bridge.logout(), statusOf())],
        ['GET', /^\/v1\/chats$/, SCOPES.read, async ({ url }) => ({ chats: await bridge.chats(limitOf(url, 20, 200)) })],
        [
            'GET',
            /^\/v1\/chats\/([^/]+)\/messages$/,
            SCOPES.read,
            async ({ url, match }) => ({
                messages: await bridge.messages(decodeURIComponent(match[1]), limitOf(url, 50, 500)),
            }),
        ],
        [
            'GET',
            /^\/v1\/search$/,
            SCOPES.read,
            async ({ url }) => {
                const q = url.searchParams.get('q') || '';
                if (!q.trim() || q.length > 200) throw new HttpError(400, 'bad_query', 'q must be 1-200 characters');
                const chatId = url.searchParams.get('chat_id');
                return { messages: await bridge.search(q, { chatId, limit: limitOf(url, 20, 100) }) };
            },
        ],
        ['GET', /^\/v1\/inbox$/, SCOPES.read, async ({ url }) => ({ messages: await bridge.inbox.list(limitOf(url, 100, 500)) })],
        [
            'POST',
            /^\/v1\/inbox\/ack$/,
            SCOPES.read,
            async ({ req }) => {
                const { ids } = await readJson(req);
                if (!Array.isArray(ids) || ids.length > 500 || !ids.every((i) => typeof i === 'string' && i.length <= 200)) {
                    throw new HttpError(400, 'bad_ids', 'ids must be a list of at most 500 message ids');
                }
                return { acknowledged: await bridge.inbox.ack(ids), pending: bridge.inbox.size };
            },
        ],
        [
            'GET',
            /^\/v1\/messages\/([^/]+)\/voice$/,
            SCOPES.read,
            async ({ match }) => bridge.voiceNote(decodeURIComponent(match[1])),
        ],
        [
            'POST',
            /^\/v1\/messages$/,
            SCOPES.send,
            async ({ req }) => {
                const body = await readJson(req);
                const key = body.idempotency_key;
                if (key !== undefined && (typeof key !== 'string' || key.length < 8 || key.length > 128)) {
                    throw new HttpError(400, 'bad_idempotency_key', 'idempotency_key must be 8-128 characters');
                }
                return { message: await bridge.send(body.chat_id, body.body, key) };
            },
        ],
    ];
}

export const TLS_OPTIONS = { minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3' };

export function createServer({ bridge, verify, log = () => {}, tls = null }) {
    const table = routes(bridge);
    const handler = async (req, res) => {
        const started = Date.now();
        let status = 500;
        let payload;
        const url = new URL(req.url, 'http://bridge.invalid');
        try {
            const candidates = table.filter(([, pattern]) => pattern.test(url.pathname));
            const route = candidates.find(([method]) => method === req.method);
            // Authenticate before saying anything about the route: no token, no answer.
            await verify(req.headers.authorization, route ? route[2] : SCOPES.status);
            if (!candidates.length) throw new HttpError(404, 'not_found', 'no such route');
            if (!route) throw new HttpError(405, 'method_not_allowed', 'method not allowed');
            payload = await route[3]({ req, url, match: route[1].exec(url.pathname) });
            status = 200;
        } catch (error) {
            if (error instanceof AuthError || error instanceof BridgeError || error instanceof HttpError) {
                status = error.status;
                payload = { error: error.code, message: error.message, ...(error.extra || {}) };
            } else {
                status = 502;
                payload = { error: 'whatsapp_error', message: 'WhatsApp Web failed to answer' };
                log('request.error', { error: error && error.name });
            }
        }
        const text = JSON.stringify(payload);
        const headers = { 'content-type': 'application/json', 'cache-control': 'no-store' };
        if (status === 401) headers['www-authenticate'] = 'Bearer realm="whatsapp-bridge"';
        res.writeHead(status, headers);
        res.end(text);
        // Path only, chat ids masked: a query can hold a search, a chat id is a phone number.
        const path = url.pathname
            .replace(/^\/v1\/chats\/[^/]+/, '/v1/chats/:id')
            .replace(/^\/v1\/messages\/[^/]+\/voice$/, '/v1/messages/:id/voice');
        log('request', { method: req.method, path, status, ms: Date.now() - started });
    };
    if (!tls) return http.createServer(handler);
    const server = https.createServer({ ...TLS_OPTIONS, cert: tls.cert, key: tls.key }, handler);
    // A refused handshake (an old TLS version, a client that distrusts us) is logged without details.
    server.on('tlsClientError', (error) => log('tls.refused', { code: error && error.code }));
    return server;
}
