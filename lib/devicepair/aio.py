"""asyncio beside the pairing app: ``await run_async(app)`` steps the app in a coroutine,
so your own coroutines run next to it, and ``Events`` tells them when the board is paired.

MicroPython's convention for concurrent work is asyncio; the tick-driven ``App.step()`` fits
it directly: each step does at most one (blocking) request and returns how long it wants to
wait, and this loop awaits exactly that, so other coroutines run between two steps. A request
in progress still blocks the loop (sockets here are blocking) - keep your coroutines
tolerant of a pause of up to the transport timeout. Loaded only by users of asyncio::

    import asyncio
    from devicepair.aio import run_async, Events

    async def my_code(session, events):
        while True:
            await events.paired.wait()
            r = session.get("https://api.example/value")
            ...
            await asyncio.sleep(60)

    async def start(app):
        events = Events(app)
        asyncio.create_task(my_code(app.session, events))
        await run_async(app)
"""

try:
    import asyncio
except ImportError:  # older MicroPython firmware
    import uasyncio as asyncio

_sleep_ms = getattr(asyncio, "sleep_ms", None)


class Events:
    """``paired`` and ``unpaired``: asyncio.Events that follow the app. While paired,
    ``paired`` is set and ``unpaired`` clear, and the other way round."""

    def __init__(self, app):
        self.paired = asyncio.Event()
        self.unpaired = asyncio.Event()
        self.unpaired.set()
        app.watch(self._on)

    def _on(self, what):
        on, off = (self.paired, self.unpaired) if what == "paired" else \
            (self.unpaired, self.paired)
        off.clear()
        on.set()


async def run_async(app, max_steps=None):
    """Step ``app`` forever (``max_steps``: tests), awaiting each step's wait."""
    n = 0
    while max_steps is None or n < max_steps:
        n += 1
        wait = app.step()
        if _sleep_ms is not None:
            await _sleep_ms(wait)
        else:
            await asyncio.sleep(wait / 1000)
