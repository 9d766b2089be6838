"""firmware/main.py as a board runs it (both interpreters): a mistake in config.json is shown
on the OLED as well as on serial - the board's display is built before the rest of the
config is checked - and the runner retries instead of crash-looping; a good config makes the
App with the user's task; the serial log cannot be forged by server text."""

# The whole firmware (config, presets, app, OLED screen) plus the fake OLED: as test_app.
MP_HEAP = "144K"

import os

import main
from fakeclock import FakeClock
from fakeoled import FakeSSD1306 as FakeOLED
from devicepair.parts import Parts

CONF = "test_main_config.json"
GOOD = ('{"wifi": [{"ssid": "home", "password": "secret123"}], "provider": "auth0", '
        '"domain": "you.eu.auth0.com", "client_id": "c1", "task": "post_reading", '
        '"task_args": {"url": "https://api.example/readings"}}')


class Board:
    """A board module: one OLED, no Wi-Fi or button (the serial screen shows the same)."""

    def __init__(self):
        self.oled = FakeOLED()
        self.built = []

    def build(self, cfg):
        self.built.append(cfg.oled_height)
        try:
            import framebuf
        except ImportError:  # CPython: the fake's pure-Python framebuf
            import fakefb as framebuf
        return Parts("test", self.oled, 128, 64, framebuf=framebuf)


def _write(text):
    with open(CONF, "w") as f:
        f.write(text)


def test_a_config_mistake_is_on_the_oled_and_retried():
    b = Board()
    _write('{"wifi": [{"ssid": "home", "password": "short"}], "client_id": "c1"}')
    try:
        crashes = main.main(board=b, config_path=CONF, max_steps=2)
    finally:
        os.remove(CONF)
    assert crashes == 2 and b.built == [64, 64]  # built with defaults, twice: retried
    assert b.oled.all_text() == ["config:", "wifi[0].password", "must be 8-63", "characters"]


def test_a_good_config_makes_the_app_with_its_task():
    b = Board()
    _write(GOOD)
    try:
        app = main.make_app(FakeClock(unix=1795435200), b, CONF)
    finally:
        os.remove(CONF)
    assert app.task is not None and app.task.every_ms == 30000
    assert app.session.client.name == "auth0" and app.session.client.client_id == "c1"
    import sys

    assert "devicepair.config" not in sys.modules  # boot-only code dropped again


def test_a_task_that_is_missing_is_a_config_error():
    b = Board()
    _write(GOOD.replace("post_reading", "no_such_task"))
    try:
        main.make_app(FakeClock(unix=1795435200), b, CONF)
        assert False
    except Exception as e:  # noqa: BLE001
        assert getattr(e, "field", None) == "task", e
    finally:
        os.remove(CONF)


def test_the_serial_log_cannot_be_forged_or_flooded():
    lines = []
    main.print = lambda *a: lines.append(" ".join(a))  # main's own name wins over builtins
    try:
        main.log("code ABCD\r\n[devicepair] Paired as admin\x1b[2J\x07\x00\x9b" + "x" * 500)
        main.log("Zoë paired")
    finally:
        del main.print
    assert lines[0] == "[devicepair] code ABCD??[devicepair] Paired as admin?[2J???" + \
        "x" * 154
    assert lines[1] == "[devicepair] Zoë paired" and len(lines) == 2


def test_the_ca_file_is_read_at_its_size_and_refused_when_huge():
    with open("test_main_ca.der", "wb") as f:
        f.write(b"\x30" * 1200)
    try:
        assert main.read_ca("test_main_ca.der") == b"\x30" * 1200
        with open("test_main_ca.der", "wb") as f:
            for _ in range(20):  # 20 KB in pieces: this test's heap has no 20 KB block
                f.write(b"\x30" * 1000)
        try:
            main.read_ca("test_main_ca.der")
            assert False
        except Exception as e:  # noqa: BLE001
            assert getattr(e, "field", None) == "ca_file" and "16384" in e.message
    finally:
        os.remove("test_main_ca.der")
    try:
        main.read_ca("no_such_ca.der")
        assert False
    except Exception as e:  # noqa: BLE001
        assert getattr(e, "field", None) == "ca_file" and "missing" in e.message
