#!/usr/bin/env python3
"""Write a stock MicroPython image to a board: esptool for ESP32s, UF2 steps for the Pico W.

Offsets from MicroPython's download pages: ESP32 images start with the bootloader at 0x1000,
ESP32-S3 and ESP32-C3 images at 0x0. The flash is erased first (the old filesystem goes too).
esptool v5 spells its commands with dashes (``erase-flash``, ``write-flash``); the v4 spellings
with underscores are deprecated aliases.

The image is checked before anything is erased: a .uf2 for an ESP32 or a .bin for the Pico W is
refused, and so is an ESP32 image built for another chip (the chip id in its header), because
esptool would write it and the board would not boot.

``--dry-run`` prints the exact command lines, one per line, and runs nothing. The esptool used
is $ESPTOOL, else the one next to this Python (the venv), else ``esptool`` on PATH.
Exit status: 0 done, 2 refused or bad arguments, otherwise esptool's own exit status.
"""

import argparse
import os
import shlex
import shutil
import struct
import subprocess
import sys

OFFSETS = {"esp32": "0x1000", "esp32s3": "0x0", "esp32c3": "0x0"}
BOARDS = tuple(OFFSETS) + ("picow",)
# Chip id at byte 12 of an ESP image header (esptool's IMAGE_CHIP_ID values).
CHIP_IDS = {0: "esp32", 2: "esp32s2", 5: "esp32c3", 9: "esp32s3", 12: "esp32c2",
            13: "esp32c6", 16: "esp32h2", 18: "esp32p4"}
UF2_MAGIC = b"UF2\n"
RP2040_FAMILY = 0xE48BFF56
DOWNLOAD = {"esp32": "ESP32_GENERIC", "esp32s3": "ESP32_GENERIC_S3",
            "esp32c3": "ESP32_GENERIC_C3", "picow": "RPI_PICO_W"}


def esptool_path():
    if os.environ.get("ESPTOOL"):
        return os.environ["ESPTOOL"]
    cand = os.path.join(os.path.dirname(sys.executable), "esptool")
    if os.path.exists(cand):
        return cand
    return shutil.which("esptool") or "esptool"


def esptool_commands(board, port, firmware, baud, esptool="esptool"):
    """The two argument lists: erase the whole flash, then write the image at its offset."""
    return [
        [esptool, "--chip", board, "--port", port, "erase-flash"],
        [esptool, "--chip", board, "--port", port, "--baud", str(baud), "write-flash", "-z",
         OFFSETS[board], firmware],
    ]


def uf2_steps(firmware):
    f = shlex.quote(firmware)
    return [
        "Pico W: MicroPython is installed by copying a UF2 file, not with esptool.",
        "1. Unplug the Pico W.",
        "2. Hold down its BOOTSEL button and plug it into USB; then release BOOTSEL.",
        "3. A USB drive named RPI-RP2 appears.",
        "4. Copy the firmware onto it, e.g.  cp %s /media/$USER/RPI-RP2/  (Linux),"
        " cp %s /Volumes/RPI-RP2/  (macOS), or drag it there." % (f, f),
        "5. The Pico W reboots into MicroPython on its own and the drive disappears;"
        " its serial port is then /dev/ttyACM0 (Linux) or /dev/cu.usbmodem* (macOS).",
        "Next: make deploy PORT=/dev/ttyACM0 BOARD=picow",
    ]


def check_firmware(board, path, must_exist=True):
    """None if ``path`` fits ``board``, else the message to refuse it with."""
    low = path.lower()
    page = "https://micropython.org/download/%s/" % DOWNLOAD[board]
    if board == "picow":
        if low.endswith(".bin"):
            return ("%s is a .bin image, but the Pico W takes a .uf2 file (from %s); .bin files "
                    "are for ESP32 boards" % (path, page))
        if not low.endswith(".uf2"):
            return "%s is not a .uf2 file; get the Pico W firmware from %s" % (path, page)
    else:
        if low.endswith(".uf2"):
            return ("%s is a .uf2 file, but %s is flashed with esptool from a .bin image (get it "
                    "from %s); .uf2 files are for the Pico W" % (path, board, page))
        if not low.endswith(".bin"):
            return "%s is not a .bin image; get the %s firmware from %s" % (path, board, page)
    if not os.path.isfile(path):
        if must_exist:
            return "firmware file %s does not exist (download it from %s)" % (path, page)
        return None
    with open(path, "rb") as f:
        head = f.read(512)
    if board == "picow":
        if head[:4] != UF2_MAGIC or len(head) < 32:
            return "%s is not a UF2 file (no UF2 header); download it again from %s" % (
                path, page)
        flags, family = struct.unpack_from("<I", head, 8)[0], struct.unpack_from("<I", head, 28)[0]
        if flags & 0x2000 and family != RP2040_FAMILY:
            return ("%s is a UF2 for another chip (family 0x%08x), not the Pico W's RP2040; "
                    "get RPI_PICO_W firmware from %s" % (path, family, page))
        return None
    if head[:4] == UF2_MAGIC:
        return "%s is a UF2 file renamed to .bin; %s needs the .bin from %s" % (path, board, page)
    if len(head) < 16 or head[0] != 0xE9:
        return "%s is not an ESP firmware image (it does not start with 0xE9); get it from %s" % (
            path, page)
    chip = CHIP_IDS.get(struct.unpack_from("<H", head, 12)[0])
    if chip is not None and chip != board:
        return "%s is an image for %s, not %s; get the %s firmware from %s" % (
            path, chip, board, board, page)
    return None


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Erase a board and write a stock MicroPython image (esptool for "
        "esp32/esp32s3/esp32c3 at 0x1000/0x0/0x0; UF2 copy steps for picow).")
    ap.add_argument("--board", required=True, choices=BOARDS)
    ap.add_argument("--port", help="serial port, e.g. /dev/ttyUSB0 (not needed for picow)")
    ap.add_argument("--firmware", required=True, help=".bin for ESP32 boards, .uf2 for picow")
    ap.add_argument("--baud", type=int, default=460800, help="write speed (default 460800)")
    ap.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    a = ap.parse_args(argv)

    problem = check_firmware(a.board, a.firmware, must_exist=not a.dry_run)
    if problem:
        print("flash: refused: " + problem, file=sys.stderr)
        return 2
    if a.board == "picow":
        print("\n".join(uf2_steps(a.firmware)))
        return 0
    if not a.port:
        print("flash: --port is required for %s (e.g. /dev/ttyUSB0)" % a.board, file=sys.stderr)
        return 2
    cmds = esptool_commands(a.board, a.port, a.firmware, a.baud, esptool_path())
    if a.dry_run:
        for c in cmds:
            print(shlex.join(c))
        return 0
    for c in cmds:
        print(shlex.join(c), flush=True)
        rc = subprocess.run(c).returncode
        if rc:
            print("flash: esptool failed (exit %d). If it cannot connect: hold BOOT, tap RESET "
                  "(EN), release BOOT, and run again." % rc, file=sys.stderr)
            return rc
    print("flash: done. Press RESET (or re-plug), then: make deploy PORT=%s" % a.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
