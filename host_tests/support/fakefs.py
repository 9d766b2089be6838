"""An in-memory filesystem that can lose power at any byte or step (CPython and MicroPython).

Interface as TokenStore uses it: ``open(path, "rb"|"wb")``, ``rename``, ``remove``, ``stat``
(size at [6]; OSError(2) when missing). Writes go straight to the durable state, so after a
cut a reboot sees exactly the bytes written before it; "wb" truncates at once; ``rename`` is
atomic. ``rename_overwrites=False``: renaming over an existing file raises OSError(17).

``arm(step=K)`` cuts power instead of doing step K (steps: open, write, close, rename, remove,
counted from 0 after ``arm``); ``arm(nbytes=N)`` lets N bytes be written in all and cuts inside
the write that would pass N; ``arm(fail_step=K)`` makes step K raise OSError(5) instead. A cut
raises ``PowerCut`` (a BaseException: code under test cannot swallow it) and so does every call
until ``reboot()``. ``cut_points(make_fs, op)`` tries every cut point of ``op(fs)``.
"""


class PowerCut(BaseException):
    pass


class _File:
    def __init__(self, fs, path, data, writing):
        self.fs, self.gen, self.data, self.writing = fs, fs.gen, data, writing
        self.path, self.pos, self.closed = path, 0, False

    def _ok(self, writing):
        if self.fs.dead:
            raise PowerCut("after the cut")
        if self.closed or self.gen != self.fs.gen or writing != self.writing:
            raise OSError(9)

    def read(self, n=-1):
        self._ok(False)
        end = len(self.data) if n is None or n < 0 else min(len(self.data), self.pos + n)
        out = bytes(self.data[self.pos:end])
        self.pos = end
        return out

    def write(self, b):
        self._ok(True)
        if isinstance(b, str):
            raise TypeError("binary mode needs bytes")
        fs = self.fs
        fs._step("write " + self.path)
        b = bytes(b)
        if fs.cut_bytes is not None and fs.bytes + len(b) > fs.cut_bytes:
            k = fs.cut_bytes - fs.bytes
            self.data.extend(b[:k])
            fs.bytes += k
            fs.dead = True
            raise PowerCut("after byte %d" % fs.cut_bytes)
        self.data.extend(b)
        fs.bytes += len(b)
        return len(b)

    def flush(self):
        self._ok(self.writing)

    def close(self):
        if not self.closed:
            self.fs._step("close " + self.path)
            self.closed = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FakeFS:
    def __init__(self, files=None, rename_overwrites=True):
        self.files = {}
        for k in files or {}:
            self.files[k] = bytearray(files[k])
        self.rename_overwrites = rename_overwrites
        self.gen = 0
        self.arm()

    def arm(self, step=None, nbytes=None, fail_step=None):
        """Reset the counters; set where the power is cut (or a step fails)."""
        self.cut_step, self.cut_bytes, self.fail_step = step, nbytes, fail_step
        self.steps = self.bytes = 0
        self.dead = False

    def reboot(self):
        """Power on again: handles are gone, durable files stay, nothing armed."""
        self.gen += 1
        self.arm()
        return self

    def clone(self):
        return FakeFS(self.files, self.rename_overwrites)

    def _step(self, what):
        if self.dead:
            raise PowerCut("after the cut: " + what)
        if self.cut_step == self.steps:
            self.dead = True
            raise PowerCut("instead of step %d: %s" % (self.steps, what))
        self.steps += 1
        if self.fail_step == self.steps - 1:
            raise OSError(5)

    def open(self, path, mode="rb"):
        if mode not in ("rb", "wb"):
            raise ValueError("FakeFS: binary modes only")
        self._step("open " + path)
        if mode == "wb":
            self.files[path] = bytearray()
        elif path not in self.files:
            raise OSError(2)
        return _File(self, path, self.files[path], mode == "wb")

    def rename(self, a, b):
        self._step("rename " + a)
        if a not in self.files:
            raise OSError(2)
        if b in self.files and not self.rename_overwrites:
            raise OSError(17)
        self.files[b] = self.files.pop(a)

    def remove(self, path):
        self._step("remove " + path)
        if path not in self.files:
            raise OSError(2)
        del self.files[path]

    def stat(self, path):
        if self.dead:
            raise PowerCut("after the cut: stat")
        if path not in self.files:
            raise OSError(2)
        return (0o100644, 0, 0, 1, 0, 0, len(self.files[path]), 0, 0, 0)

    # helpers for tests: no steps counted
    def read_file(self, path):
        d = self.files.get(path)
        return None if d is None else bytes(d)

    def write_file(self, path, data):
        self.files[path] = bytearray(data.encode() if isinstance(data, str) else data)

    def listdir(self):
        return sorted(self.files)


def cut_points(make_fs, op):
    """Yield ``(label, fs)`` for every cut point of ``op(fs)``, fs rebooted after the cut.

    ``make_fs()`` builds a fresh FakeFS in the state before the operation. One uncut run
    counts the steps and bytes; then every step K and every byte N is cut once.
    AssertionError if ``op`` then finishes without meeting the cut (not deterministic).
    """
    fs = make_fs()
    fs.arm()
    op(fs)
    n_steps, n_bytes = fs.steps, fs.bytes
    for kind in ("step", "byte"):
        for k in range(n_steps if kind == "step" else n_bytes):
            fs = make_fs()
            if kind == "step":
                fs.arm(step=k)
            else:
                fs.arm(nbytes=k)
            try:
                op(fs)
            except PowerCut as e:
                label = "%s %d: %s" % (kind, k, e)
            else:
                raise AssertionError("no power cut at %s %d" % (kind, k))
            yield label, fs.reboot()
