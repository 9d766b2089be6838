"""devicepair: OAuth 2.0 Device Authorization Grant (RFC 8628) for MicroPython boards.

Importing the package costs almost nothing: submodules are imported by their users
(``from devicepair import device_flow``); ``devicepair.run_async`` loads ``aio`` (asyncio)
only when asked for. Never import ``machine`` or ``network`` here.
"""

__version__ = "0.1.0"


def run_async(app, max_steps=None):
    """The app as a coroutine beside your own: see devicepair/aio.py."""
    from .aio import run_async as run

    return run(app, max_steps)


def loaded(name):
    """Whether ``devicepair.<name>`` is imported (whoever imported it then keeps it)."""
    import sys

    return __name__ + "." + name in sys.modules


def forget(name):
    """Drop ``devicepair.<name>`` after its one job (boot-only config checking and preset
    resolution, the in-flight pairing file), so its bytecode's heap returns; the next import
    loads it again."""
    import sys

    sys.modules.pop(__name__ + "." + name, None)
    if name in globals():
        del globals()[name]
