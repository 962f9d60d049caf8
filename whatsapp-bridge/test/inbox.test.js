import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';

import { Inbox } from '../src/inbox.js';

async function tempDir() {
    return path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'wa-inbox-')), 'inbox');
}

test('the same message put twice at once is stored once', async () => {
    const inbox = await new Inbox(await tempDir()).open();
    const results = await Promise.all([inbox.put({ id: 'a', body: 'x' }), inbox.put({ id: 'a', body: 'x' })]);
    assert.deepEqual(results.sort(), [false, true]);
    assert.equal(inbox.size, 1);
    assert.equal((await fs.readdir(inbox.dir)).length, 1);
});

test('a write cut short leaves no message and is cleaned up on open', async () => {
    const dir = await tempDir();
    const first = await new Inbox(dir).open();
    await first.put({ id: 'kept', body: 'whole' });
    await fs.writeFile(path.join(dir, '0000000000000002-ffffffffffffffffffffffffffffffff.json.tmp'), '{"id":"torn"');
    const reopened = await new Inbox(dir).open();
    assert.deepEqual(
        (await reopened.list()).map((m) => m.id),
        ['kept'],
    );
    assert.deepEqual(await fs.readdir(dir), (await fs.readdir(dir)).filter((n) => !n.endsWith('.tmp')));
    await reopened.put({ id: 'next', body: 'after' });
    assert.deepEqual(
        (await reopened.list()).map((m) => [m.id, m.seq]),
        [
            ['kept', 1],
            ['next', 2],
        ],
    );
});
