# devicepair as a package manifest, for freezing into a custom MicroPython firmware (frozen
# bytecode runs from flash and costs no heap). Like micropython-lib's package manifests it
# does not pull in the port's own manifest, so do not pass it as FROZEN_MANIFEST by itself
# (an ESP32 would lose _boot.py, which mounts the filesystem). Write a two-line manifest:
#
#     include("$(PORT_DIR)/boards/manifest.py")      # ESP32 boards; Pico W: $(BOARD_DIR)
#     include("/path/to/devicepair/manifest.py")
#
# and build with  make BOARD=ESP32_GENERIC FROZEN_MANIFEST=/path/to/that_manifest.py
# boot.py, main.py, board.py and config.json stay on the filesystem (make deploy / provision).
# The version must equal __version__ in lib/devicepair/__init__.py: tools/check_packaging.py
# checks it, and --write updates it.
# ruff: noqa: F821 - metadata/require/package are given to this file by the freezer

metadata(
    description="OAuth 2.0 Device Authorization Grant (RFC 8628) pairing for MicroPython boards",
    version="0.1.0",
)

require("ssd1306")
package("devicepair", base_path="lib", opt=3)
