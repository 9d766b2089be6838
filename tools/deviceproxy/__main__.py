"""``python -m tools.deviceproxy`` (from the repo root) or ``python tools/deviceproxy``."""

import os
import sys

if not __package__:
    # run as a directory: make the repo root importable instead of this package's own dir
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _here]
    sys.path.insert(0, os.path.dirname(os.path.dirname(_here)))
    from tools.deviceproxy.cli import main
else:
    from .cli import main

sys.exit(main())
