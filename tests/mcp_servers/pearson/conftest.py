from tests.tools.browser.loopback import chromium_runner  # noqa: F401 - the Chromium runner fixture
