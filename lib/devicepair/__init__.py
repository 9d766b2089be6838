"""devicepair: OAuth 2.0 Device Authorization Grant (RFC 8628) for MicroPython boards.

Importing the package costs almost nothing: submodules are imported by their users
(``from devicepair import device_flow``). Never import ``machine`` or ``network`` here.
"""

__version__ = "0.1.0"
