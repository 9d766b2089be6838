#!/usr/bin/env python3
"""Launcher: ``python tools/authserver.py ARGS`` == ``python -m tools.authserver ARGS``.

The server itself is the package tools/authserver/ (see its README.md).
"""

import os
import sys

_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[0] = _root  # not tools/: there `authserver` would be this file, not the package

from tools.authserver.cli import main  # noqa: E402

sys.exit(main())
