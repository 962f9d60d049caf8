import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, test } from 'node:test';

import { FakeMessage, FakeWorld } from './support/fake-client.js';
import { harness, until } from './support/harness.js';

const ALICE = '15550000002@c.us';
const FAMILY = '120363000000000001@g.us';

async function state(h) {
    return (await h.call('GET', '/v1/status')).body;
}

describe('pairing and states', () => {
    test('the QR code is shown while pairing, then the bridge connects', async () => {
        const h = await harness({ paired: false });
        try {
            await until(async () => (await state(h)).state === 'pairing');
            const status = await h.call('GET', '/v1/status');
            assert.equal(status.body.qr, undefined, 'the status route never carries the QR');
            const pairing = await h.call('GET', '/v1/pairing');
            assert.equal(pairing.body.state, 'pairing');
            assert.equal(pairing.body.qr, '2@fake-qr-1');
            h.world.client.emit('qr', '2@fake-qr-rotated');
            assert.equal((await h.call('GET', '/v1/pairing')).body.qr, '2@fake-qr-rotated');
            h.world.client.connect();
            const s = await state(h);
            assert.equal(s.state, 'connected');
            assert.equal((await h.call('GET', '/v1/pairing')).body.qr, null);
        } finally {
            await h.close();
        }
    });

    test('a pairing code can replace the QR code', async () => {
        const h = await harness({ paired: false });
        try {
            await until(async () => (await state(h)).state === 'pairing');
            const bad = await h.call('POST', '/v1/pairing/code', { body: { phone_number: '+1 555' } });
            assert.equal(bad.status, 400);
            const r = await h.call('POST', '/v1/pairing/code', { body: { phone_number: '15550000001' } });
            assert.equal(r.status, 200);
            assert.equal(r.body.code, 'FAKE0001');
            const p = (await h.call('GET', '/v1/pairing')).body;
            assert.equal(p.code, 'FAKE0001');
            assert.equal(p.qr, null);
        } finally {
            await h.close();
        }
    });

    test('phone offline, conflict and WhatsApp Web changes are states, not silence', async () => {
        const h = await harness();
        try {
            await until(async () => (await state(h)).state === 'connected');
            h.world.client.emit('change_state', 'TIMEOUT');
            assert.equal((await state(h)).state, 'phone_offline');
            h.world.client.emit('change_state', 'CONNECTED');
            const back = await state(h);
            assert.equal(back.state, 'connected');
            assert.equal(back.last_problem.state, 'phone_offline');
            h.world.client.emit('change_state', 'CONFLICT');
            assert.equal((await state(h)).state, 'conflict');
            h.world.client.emit('change_state', 'DEPRECATED_VERSION');
            assert.equal((await state(h)).state, 'web_changed');
        } finally {
            await h.close();
        }
    });

    test('a failed start that looks like a WhatsApp Web change is reported, then retried with backoff', async () => {
        const world = new FakeWorld({ paired: true });
        world.initFailure = new Error('Evaluation failed: TypeError: window.WWebJS.getChats is not a function');
        const h = await harness({ world, backoff: { baseMs: 30, maxMs: 200 } });
        try {
            await until(() => h.app.bridge.history.includes('web_changed'));
            const s = await state(h);
            assert.equal(s.last_problem.state, 'web_changed');
            await until(async () => (await state(h)).state === 'connected');
            assert.equal(world.clients.length, 2, 'one relaunch');
            assert.ok(world.clients[0].destroyed, 'the failed client was destroyed');
            const relaunch = h.logs.find((l) => l.event === 'relaunch');
            assert.ok(relaunch.delay_ms >= 15 && relaunch.delay_ms <= 30, `delay ${relaunch.delay_ms}`);
        } finally {
            await h.close();
        }
    });

    test('WhatsApp Web that never loads is reported and relaunched', async () => {
        const world = new FakeWorld({ paired: true });
        world.hangs = 1;
        const h = await harness({ world, startTimeoutMs: 40 });
        try {
            await until(() => h.app.bridge.history.includes('reconnecting'));
            assert.match(h.app.bridge.status.last_problem.detail, /did not load within/);
            await until(async () => (await state(h)).state === 'connected');
            assert.equal(world.clients.length, 2);
            assert.ok(world.clients[0].destroyed);
            await new Promise((r) => setTimeout(r, 80));
            assert.equal((await state(h)).state, 'connected', 'no watchdog once connected');
        } finally {
            await h.close();
        }
    });

    test('disconnects back off exponentially and reset once ready', async () => {
        const h = await harness({ backoff: { baseMs: 10, maxMs: 1000 } });
        try {
            await until(async () => (await state(h)).state === 'connected');
            h.app.bridge.random = () => 1; // no jitter: the full backoff
            h.world.initFailure = new Error('net::ERR_NAME_NOT_RESOLVED');
            h.world.client.emit('disconnected', 'NAVIGATION');
            assert.equal((await state(h)).state, 'reconnecting');
            await until(() => h.world.clients.length === 3 && h.app.bridge.status.state === 'connected');
            const delays = h.logs.filter((l) => l.event === 'relaunch').map((l) => l.delay_ms);
            assert.deepEqual(delays, [10, 20]);
            assert.equal(h.app.bridge.attempts, 0);
        } finally {
            await h.close();
        }
    });

    test('a logout from the phone shows logged_out and a fresh QR follows', async () => {
        const h = await harness({ backoff: { baseMs: 300, maxMs: 300 } });
        try {
            await until(async () => (await state(h)).state === 'connected');
            h.world.paired = false;
            h.world.client.emit('disconnected', 'LOGOUT');
            assert.equal((await state(h)).state, 'logged_out');
            await until(async () => (await state(h)).state === 'pairing');
            const p = (await h.call('GET', '/v1/pairing')).body;
            assert.equal(p.qr, '2@fake-qr-2');
            assert.equal(p.last_problem.state, 'logged_out');
        } finally {
            await h.close();
        }
    });
});

describe('messages', () => {
    test('incoming messages are kept until acknowledged, and survive a restart', async () => {
        const h = await harness();
        let second;
        try {
            await until(async () => (await state(h)).state === 'connected');
            h.world.client.receive({ chatId: ALICE, body: 'hello from Alice' });
            h.world.client.receive({ chatId: FAMILY, author: '15550000003@c.us', body: 'group hi', links: ['evil.example/x'] });
            h.world.client.receive({ chatId: ALICE, body: '', type: 'e2e_notification' }); // not a message anyone wrote
            await h.world.client.sendMessage(ALICE, 'my own message'); // 'message_create' only: not an incoming message
            await until(() => h.app.inbox.size === 2);
            const inbox = (await h.call('GET', '/v1/inbox')).body.messages;
            assert.deepEqual(
                inbox.map((m) => m.body),
                ['hello from Alice', 'group hi'],
            );
            const [alice, group] = inbox;
            assert.equal(alice.chat_id, ALICE);
            assert.equal(alice.sender_saved_name, 'Alice Saved');
            assert.equal(alice.is_group, false);
            assert.equal(group.is_group, true);
            assert.equal(group.chat_name, 'Family');
            assert.equal(group.author, '15550000003@c.us');
            assert.equal(group.sender_saved_name, null, 'not a saved contact');
            assert.equal(group.sender_push_name, 'Aegis Owner');
            assert.deepEqual(group.links, ['evil.example/x']);
            assert.match(group.id, /^false_120363000000000001@g\.us_3EB0\d+_15550000003@c\.us$/);

            // Files are private.
            const dir = path.join(h.dir, 'inbox');
            assert.equal((await fs.stat(dir)).mode & 0o777, 0o700);
            for (const name of await fs.readdir(dir)) assert.equal((await fs.stat(path.join(dir, name))).mode & 0o777, 0o600);

            const ack = await h.call('POST', '/v1/inbox/ack', { body: { ids: [alice.id, 'false_unknown@c.us_X'] } });
            assert.deepEqual(ack.body, { acknowledged: 1, pending: 1 });
            await h.close();

            second = await harness({ dataDir: h.dir });
            const after = (await second.call('GET', '/v1/inbox')).body.messages;
            assert.deepEqual(
                after.map((m) => m.id),
                [group.id],
            );
            // A redelivery of a pending message is stored once.
            await until(async () => (await state(second)).state === 'connected');
            second.world.client.receive({ chatId: ALICE, body: 'new' });
            await until(() => second.app.inbox.size === 2);
            const again = (await second.call('GET', '/v1/inbox')).body.messages;
            assert.ok(again[1].seq > again[0].seq, 'order continues after a restart');
        } finally {
            if (second) await second.close();
            else await h.close();
        }
    });

    test('unread messages that arrived while the bridge was down are picked up once connected', async () => {
        const world = new FakeWorld({ paired: false });
        const h = await harness({ world });
        try {
            await until(async () => (await state(h)).state === 'pairing');
            const missed = world.arrivedWhileOffline({ chatId: ALICE, body: 'sent while you were away' });
            world.client.connect();
            await until(() => h.app.inbox.size === 1);
            const [first] = (await h.call('GET', '/v1/inbox')).body.messages;
            assert.equal(first.id, missed.id._serialized);
            assert.equal(first.body, 'sent while you were away');
            // The live event for the same message, if it comes too, is not stored twice.
            world.client.emit('message', new FakeMessage(world.client, missed));
            await new Promise((r) => setTimeout(r, 50));
            assert.equal(h.app.inbox.size, 1);
            assert.ok(h.logs.some((l) => l.event === 'catch_up' && l.messages === 1));
        } finally {
            await h.close();
        }
    });

    test('recent chats, messages of a chat and search', async () => {
        const h = await harness();
        try {
            await until(async () => (await state(h)).state === 'connected');
            h.world.client.receive({ chatId: ALICE, body: 'lunch tomorrow?' });
            h.world.client.receive({ chatId: FAMILY, author: '15550000003@c.us', body: 'dinner at 8' });
            const chats = (await h.call('GET', '/v1/chats?limit=5')).body.chats;
            assert.deepEqual(
                chats.map((c) => c.id),
                [ALICE, FAMILY],
            );
            assert.equal(chats[0].unread_count, 1);
            assert.equal(chats[0].last_message.body, 'lunch tomorrow?');
            const messages = (await h.call('GET', `/v1/chats/${encodeURIComponent(FAMILY)}/messages?limit=10`)).body.messages;
            assert.equal(messages.length, 1);
            assert.equal(messages[0].author, '15550000003@c.us');
            const found = (await h.call('GET', '/v1/search?q=LUNCH')).body.messages;
            assert.deepEqual(
                found.map((m) => m.body),
                ['lunch tomorrow?'],
            );
            assert.equal((await h.call('GET', '/v1/chats/not-a-chat/messages')).status, 400);
            assert.equal((await h.call('GET', '/v1/chats?limit=0')).status, 400);
            assert.equal((await h.call('GET', '/v1/search?q=')).status, 400);
            assert.ok(!JSON.stringify(h.logs).includes('15550000002'), 'chat ids are masked in the logs');
        } finally {
            await h.close();
        }
    });

    test("a voice note's audio can be fetched, and nothing else", async () => {
        const h = await harness();
        try {
            await until(async () => (await state(h)).state === 'connected');
            const audio = Buffer.from('OggS fake opus voice note').toString('base64');
            const note = h.world.client.receive({
                chatId: ALICE,
                type: 'ptt',
                body: '',
                duration: 4,
                media: { mimetype: 'audio/ogg; codecs=opus', data: audio },
            });
            const text = h.world.client.receive({ chatId: ALICE, body: 'just text' });
            const got = await h.call('GET', `/v1/messages/${encodeURIComponent(note.id._serialized)}/voice`);
            assert.equal(got.status, 200);
            assert.deepEqual(got.body, { mimetype: 'audio/ogg; codecs=opus', data: audio, size: 25 });
            const inbox = async () => (await h.call('GET', '/v1/inbox')).body.messages;
            await until(async () => (await inbox()).some((m) => m.type === 'ptt'));
            const shaped = (await inbox()).find((m) => m.type === 'ptt');
            assert.equal(shaped.has_media, true);
            assert.equal(shaped.duration, 4);
            const notVoice = await h.call('GET', `/v1/messages/${encodeURIComponent(text.id._serialized)}/voice`);
            assert.equal(notVoice.status, 415);
            assert.equal((await h.call('GET', '/v1/messages/false_15550000002@c.us_NOPE00000/voice')).status, 404);
            assert.equal((await h.call('GET', '/v1/messages/..%2Fetc/voice')).status, 400);
            assert.ok(!JSON.stringify(h.logs).includes('15550000002'), 'message ids are masked in the logs');
        } finally {
            await h.close();
        }
    });

    test('send is refused until connected, validated, and idempotent per key', async () => {
        const h = await harness({ paired: false });
        try {
            await until(async () => (await state(h)).state === 'pairing');
            const early = await h.call('POST', '/v1/messages', { body: { chat_id: ALICE, body: 'hi' } });
            assert.equal(early.status, 409);
            assert.equal(early.body.error, 'not_connected');
            assert.equal(early.body.state, 'pairing');
            h.world.client.connect();
            assert.equal((await h.call('POST', '/v1/messages', { body: { chat_id: 'alice', body: 'hi' } })).status, 400);
            assert.equal((await h.call('POST', '/v1/messages', { body: { chat_id: ALICE, body: '  ' } })).status, 400);
            const body = { chat_id: ALICE, body: 'on my way', idempotency_key: 'key-00000001' };
            const one = await h.call('POST', '/v1/messages', { body });
            const two = await h.call('POST', '/v1/messages', { body });
            assert.equal(one.status, 200);
            assert.deepEqual(one.body, two.body);
            assert.deepEqual(h.world.sent, [{ chatId: ALICE, content: 'on my way' }]);
            const raw = await fetch(`http://127.0.0.1:${h.app.port}/v1/messages`, {
                method: 'POST',
                headers: { authorization: `Bearer ${h.token}`, 'content-type': 'text/plain' },
                body: 'x',
            });
            assert.equal(raw.status, 415);
        } finally {
            await h.close();
        }
    });
});
