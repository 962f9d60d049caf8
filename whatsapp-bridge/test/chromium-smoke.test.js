// Proves the wiring to Debian's chromium (no downloaded browser): the same launch options the
// bridge gives whatsapp-web.js, on about:blank only. Never opens WhatsApp Web.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';

import puppeteer from 'puppeteer';

const CHROMIUM = process.env.WHATSAPP_BRIDGE_CHROMIUM || '/usr/bin/chromium';

test('puppeteer launches the system chromium on about:blank', { timeout: 60_000 }, async () => {
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium`);
    const browser = await puppeteer.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ['--no-sandbox', '--disable-setuid-sandbox', '--disable-dev-shm-usage'],
    });
    try {
        const page = await browser.newPage();
        await page.goto('about:blank');
        assert.equal(await page.evaluate(() => 6 * 7), 42);
        assert.match(await browser.version(), /Chrom/);
    } finally {
        await browser.close();
    }
});
