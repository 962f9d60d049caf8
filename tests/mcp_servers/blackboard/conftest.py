from tests.tools.browser.loopback import chromium_runner  # noqa: F401 - the Chromium runner fixture
from tests.web.conftest import clock, console_config  # noqa: F401 - the console harness's fixtures
