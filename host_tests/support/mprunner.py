"""Run the plain ``test_*`` functions of host_tests/both modules under MicroPython.

Usage: micropython mprunner.py MODULE [MODULE ...]
Prints ``PASS module.test`` or ``FAIL module.test: <exception>`` per test, then the summary
line ``N passed, N failed``. Exit status 1 when anything failed. pytest drives this from
host_tests/test_micropython.py and turns each line into a test result.
"""

import sys
import gc


def _print_exc(e):
    try:
        sys.print_exception(e)
    except AttributeError:
        import traceback

        traceback.print_exception(e)


def run(names):
    passed = failed = 0
    for name in names:
        try:
            mod = __import__(name)
        except Exception as e:  # an import error fails every test of the module
            print("FAIL " + name + ".<import>: " + repr(e))
            _print_exc(e)
            failed += 1
            continue
        tests = sorted(k for k in dir(mod) if k.startswith("test_"))
        for t in tests:
            fn = getattr(mod, t)
            gc.collect()
            try:
                fn()
            except Exception as e:
                failed += 1
                print("FAIL " + name + "." + t + ": " + repr(e))
                _print_exc(e)
            else:
                passed += 1
                print("PASS " + name + "." + t)
    print("%d passed, %d failed" % (passed, failed))
    return failed


if __name__ == "__main__":
    # The working directory (host_tests/both, for snapshot files) must not shadow the
    # precompiled .mpy on MICROPYPATH: compiling test modules from source needs far more heap.
    for p in ("", "."):
        while p in sys.path:
            sys.path.remove(p)
    sys.exit(1 if run(sys.argv[1:]) else 0)
