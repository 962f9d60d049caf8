// Incoming messages kept on disk until Aegis acknowledges them: one file per message, written to a
// temporary name, fsynced and renamed, so a crash leaves either the whole message or nothing. The
// folder is 0700 and the files 0600. A message is keyed by its WhatsApp id, so a redelivery of a
// message still pending is stored once.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

const NAME_RE = /^(\d{16})-([0-9a-f]{32})\.json$/;

function keyOf(id) {
    return createHash('sha256').update(id, 'utf8').digest('hex').slice(0, 32);
}

export class Inbox {
    constructor(dir) {
        this.dir = dir;
        this.seq = 0;
        this.byKey = new Map(); // key -> file name
        this.writing = new Set();
    }

    async open() {
        await fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
        await fs.chmod(this.dir, 0o700);
        for (const name of await fs.readdir(this.dir)) {
            const match = NAME_RE.exec(name);
            if (match) {
                this.byKey.set(match[2], name);
                this.seq = Math.max(this.seq, Number(match[1]));
            } else if (name.endsWith('.tmp')) {
                await fs.rm(path.join(this.dir, name), { force: true });
            }
        }
        return this;
    }

    get size() {
        return this.byKey.size;
    }

    // Store a message once; returns false when it was already pending.
    async put(message) {
        const key = keyOf(message.id);
        if (this.byKey.has(key) || this.writing.has(key)) return false;
        this.writing.add(key); // a concurrent put of the same message is refused, not duplicated
        try {
            this.seq += 1;
            const seq = this.seq;
            const name = `${String(seq).padStart(16, '0')}-${key}.json`;
            const tmp = path.join(this.dir, `${name}.tmp`);
            const handle = await fs.open(tmp, 'wx', 0o600);
            try {
                await handle.writeFile(JSON.stringify({ ...message, seq }), 'utf8');
                await handle.sync();
            } finally {
                await handle.close();
            }
            await fs.rename(tmp, path.join(this.dir, name));
            await this.#syncDir();
            this.byKey.set(key, name);
            return true;
        } finally {
            this.writing.delete(key);
        }
    }

    // Pending messages, oldest first.
    async list(limit = 100) {
        const names = [...this.byKey.values()].sort().slice(0, limit);
        const out = [];
        for (const name of names) {
            out.push(JSON.parse(await fs.readFile(path.join(this.dir, name), 'utf8')));
        }
        return out;
    }

    // Forget acknowledged messages; unknown ids are ignored (an ack may be repeated).
    async ack(ids) {
        let removed = 0;
        for (const id of ids) {
            const key = keyOf(id);
            const name = this.byKey.get(key);
            if (!name) continue;
            await fs.rm(path.join(this.dir, name), { force: true });
            this.byKey.delete(key);
            removed += 1;
        }
        if (removed) await this.#syncDir();
        return removed;
    }

    async #syncDir() {
        const handle = await fs.open(this.dir, 'r');
        try {
            await handle.sync();
        } finally {
            await handle.close();
        }
    }
}
