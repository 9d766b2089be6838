"""Example task: post a sensor reading to your API every 30 s with the board's bearer token.

Copy it to the board as ``post_reading.py`` and add to config.json::

    "task": "post_reading",
    "task_args": {"url": "https://api.example.com/readings", "every_s": 30}

Each call makes one request (``session.post`` adds a fresh token, refreshing it first when
needed) and shows the result on the OLED. A failed post is logged by devicepair and tried
again after a growing pause; nothing here needs to catch it. The sensor is the chip's own
temperature where the port has one (ESP32, Pico W), else a counter - put your sensor there.
"""

EVERY_S = 30  # the default; task_args "every_s" overrides it
every_s = EVERY_S
URL = None
_count = [0]


def setup(args):
    global URL, every_s
    URL = args["url"]  # a KeyError here is shown as a config error naming task_args
    every_s = int(args.get("every_s", EVERY_S))


def read_sensor():
    """Degrees C from the chip's own sensor, or a counter where there is none."""
    try:
        import esp32

        return (esp32.raw_temperature() - 32) / 1.8
    except (ImportError, AttributeError):
        pass
    try:
        from machine import ADC

        volts = ADC(4).read_u16() * 3.3 / 65535  # RP2040: the internal sensor on ADC 4
        return 27 - (volts - 0.706) / 0.001721
    except (ImportError, ValueError, OSError):
        _count[0] += 1
        return 20.0 + _count[0] % 10


def run(session, screen):
    value = round(read_sensor(), 1)
    r = session.post(URL, json={"sensor": "chip_temp", "value": value})
    if r.status_code in (200, 201):
        screen.status("Posted %.1f C" % value)
    else:
        screen.status("API said HTTP %d" % r.status_code)
