// The fake client's objects against the library's own classes: the same raw data through
// whatsapp-web.js's Message and GroupChat gives the same JSON as through the fakes.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import wweb from 'whatsapp-web.js';

import { chatShape, messageShape } from '../src/shapes.js';
import { FakeMessage, FakeWorld } from './support/fake-client.js';

const FAMILY = '120363000000000001@g.us';

test('a real Message and the fake give the same shape', () => {
    const world = new FakeWorld();
    const raw = world.rawMessage({
        chatId: FAMILY,
        author: '15550000003@c.us',
        body: 'dinner at 8, see evil.example/x',
        links: ['evil.example/x'],
    });
    const real = new wweb.Message(null, raw);
    const fake = new FakeMessage(null, raw);
    const chat = { name: 'Family', isGroup: true };
    const sender = { id: '15550000003@c.us', saved_name: null, push_name: 'Aegis Owner' };
    const fromReal = messageShape(real, { chat, sender });
    assert.deepEqual(fromReal, messageShape(fake, { chat, sender }));
    assert.equal(fromReal.id, raw.id._serialized);
    assert.equal(fromReal.chat_id, FAMILY);
    assert.equal(fromReal.timestamp, raw.t);
    assert.deepEqual(fromReal.links, ['evil.example/x']);
    assert.equal(real.author, '15550000003@c.us');
});

test('a real GroupChat gives the chat shape the bridge expects', () => {
    const world = new FakeWorld();
    const last = world.rawMessage({ chatId: FAMILY, author: '15550000003@c.us', body: 'hi' });
    const real = new wweb.GroupChat(null, {
        id: { server: 'g.us', user: '120363000000000001', _serialized: FAMILY },
        formattedTitle: 'Family',
        isGroup: true,
        isReadOnly: false,
        unreadCount: 2,
        t: 1_790_000_050,
        archive: false,
        pin: 0,
        isMuted: false,
        lastMessage: last,
        groupMetadata: { participants: [] },
    });
    const shaped = chatShape(real);
    assert.equal(shaped.id, FAMILY);
    assert.equal(shaped.name, 'Family');
    assert.equal(shaped.is_group, true);
    assert.equal(shaped.unread_count, 2);
    assert.equal(shaped.last_message.body, 'hi');
});
