"""Boot script of the virtual board that host_tests/test_tools.py deploys to (MicroPython only).

Run as ``micropython -i deploy_vboard.py`` with the board's directory as the working directory,
behind a pty made by socat. The unix port mounts the HOST's "/" as its VFS root, so without this
``mpremote fs cp x :/lib/...`` would write into the host's real /lib. Here the working directory
is re-mounted as "/" (``vfs.VfsPosix(root)`` prefixes every path with ``root``), and ``sys.path``
becomes the ESP32 one, ``['', '.frozen', '/lib']``: a deployed /lib/devicepair/x.mpy is imported
exactly as on a board. MICROPYPATH is not used (its host paths would now be wrong). ``-i`` then
drops into the normal REPL, raw REPL included, which mpremote drives.
"""

if __name__ == "__main__":
    import os
    import sys
    import vfs

    _root = os.getcwd()
    vfs.umount("/")
    vfs.mount(vfs.VfsPosix(_root), "/")
    os.chdir("/")
    sys.path[:] = ["", ".frozen", "/lib"]
    del _root
    print("vboard ready")
