// Never download a browser: Debian's chromium (/usr/bin/chromium) is the browser.
module.exports = { skipDownload: true };
