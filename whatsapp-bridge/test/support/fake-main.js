// The bridge process with the fake client, for tests in other languages (the Python client's tests).
// Same configuration as src/main.js (environment variables). It prints {"event":"listening","port":N}
// on stdout, then reads JSON commands on stdin, one a line, and answers {"done": op} on stdout:
//   {"op":"connect"}                                  the phone scanned the QR code
//   {"op":"receive", "chatId", "body", "author"?, "links"?}  an incoming message
//   {"op":"emit", "event", "args": [...]}             any library event, e.g. change_state / disconnected
//   {"op":"sent"}                                     answers {"done":"sent","sent":[...]}
import readline from 'node:readline';

import { jsonLog, startBridge } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { FakeClient, FakeWorld } from './fake-client.js';

const world = new FakeWorld({ paired: process.env.FAKE_WHATSAPP_PAIRED === '1' });
const config = loadConfig();
const app = await startBridge({
    config,
    createClient: () => new FakeClient(world),
    log: jsonLog(process.stderr),
    backoff: { baseMs: 20, maxMs: 200 },
});
const say = (obj) => process.stdout.write(`${JSON.stringify(obj)}\n`);
say({ event: 'listening', port: app.port });

const commands = readline.createInterface({ input: process.stdin });
commands.on('line', (line) => {
    const cmd = JSON.parse(line);
    const client = world.client;
    if (cmd.op === 'connect') client.connect();
    else if (cmd.op === 'receive') client.receive(cmd);
    else if (cmd.op === 'emit') client.emit(cmd.event, ...(cmd.args || []));
    else if (cmd.op === 'sent') return say({ done: 'sent', sent: world.sent });
    say({ done: cmd.op });
});
const shutdown = async () => {
    await app.close();
    process.exit(0);
};
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
commands.on('close', shutdown);
