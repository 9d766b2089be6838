"""What the app can show: the written ``Screen`` interface, ``Tee``, and the text rules.

The app holds one ``screen`` and calls only the methods of ``Screen`` below; every screen
(``screen_serial.SerialScreen``, ``screen_oled.OledScreen``, ``Tee``, a test's recorder, a
user's own) derives from it, so a method the app adds gets a no-op default everywhere and a
misspelt call fails loudly (AttributeError) instead of silently showing nothing. ``Tee`` sends
each call to several screens and forwards exactly these methods, nothing else.

Server text is hostile: everything shown passes ``clean`` (printable ASCII, bounded), and
no method takes a token. The drawing lives in other modules so a board loads only what it
uses: screen_serial (console), screen_oled (SSD1306), bigfont (2x glyphs), and pairing_view +
qr, which the OLED loads when pairing starts and unloads again after it.
"""

MAXTEXT = 200


def clean(s, limit=MAXTEXT):
    """Printable ASCII only: control and non-ASCII characters become "?"; at most limit."""
    s = "" if s is None else str(s)
    tail = ""
    if len(s) > limit:
        s, tail = s[:limit], "..."
    for ch in s:
        if not " " <= ch <= "~":
            s = "".join([c if " " <= c <= "~" else "?" for c in s])
            break
    return s + tail


def mmss(seconds):
    """Seconds left as "mm:ss" (minutes may exceed 59); negative shows as 00:00."""
    s = max(0, int(seconds))
    return "%02d:%02d" % (s // 60, s % 60)


def host_of(uri):
    """What the user types: the URI without "https://" (other schemes stay visible)."""
    return uri[8:] if uri[:8].lower() == "https://" else uri


def wrap(s, n, url=False):
    """Lines of at most n chars: break at spaces, or before "/?&#=" / after ".-_" for URLs."""
    n = max(1, n)
    lines = []
    while len(s) > n:
        cut = n
        for i in range(n, n // 3, -1):
            if (s[i] in "/?&#=" or s[i - 1] in ".-_") if url else s[i] == " ":
                cut = i
                break
        lines.append(s[:cut] if url else s[:cut].rstrip())
        s = s[cut:] if url else s[cut:].lstrip()
    if s or not lines:
        lines.append(s)
    return lines


class Screen:
    """Every screen the app shows; here each one does nothing: subclass and draw yours.

    Each full-screen method replaces what was shown; countdown(), polling_note(), tick() and
    repeated hold_progress() calls only update the pairing or hold screen they belong to,
    and are ignored on any other. Each default hands its call to ``_forward``, which does
    nothing here and is what ``Tee`` (and a test's recorder) overrides: one written list of
    methods, no second copy to keep in step.
    """

    def _forward(self, name, *args) -> bool:
        return False

    def booting(self, version):
        self._forward("booting", version)

    def status(self, text):
        self._forward("status", text)

    def idle(self, name=None):
        self._forward("idle", name)

    def pairing(self, user_code, verification_uri, verification_uri_complete=None,
                seconds_left=None):
        self._forward("pairing", user_code, verification_uri, verification_uri_complete,
                      seconds_left)

    def countdown(self, seconds_left):
        self._forward("countdown", seconds_left)

    def polling_note(self, text):
        self._forward("polling_note", text)

    def tick(self):
        """Called on every pass of the main loop; True when it redrew something."""
        return self._forward("tick")

    def approved(self):
        self._forward("approved")

    def paired(self, name):
        self._forward("paired", name)

    def denied(self):
        self._forward("denied")

    def expired(self):
        self._forward("expired")

    def error(self, reason):
        self._forward("error", reason)

    def unpair_confirm(self):
        self._forward("unpair_confirm")

    def unpaired(self):
        self._forward("unpaired")

    def hold_progress(self, fraction):
        self._forward("hold_progress", fraction)


class Tee(Screen):
    """Send every screen call to several screens (OLED and serial), in order. Only the
    methods of Screen exist, so a misspelt call is an AttributeError, not a blank screen."""

    def __init__(self, *screens):
        self.screens = screens

    def _forward(self, name, *args):
        drew = False
        for s in self.screens:
            drew = getattr(s, name)(*args) or drew
        return drew


class MessageScreen(Screen):
    """The plain screens in words, for a subclass's ``_msg(title, body, line)``: the OLED
    draws a title and a wrapped body, the console prints ``line``."""

    def _msg(self, title, body, line, mode=None):
        pass

    def booting(self, version):
        v = clean(version, 16)
        self._msg("devicepair", "v" + v + " starting", "devicepair " + v + " starting")

    def status(self, text):
        t = clean(text)
        self._msg(None, t, t)

    def idle(self, name=None):
        n = clean(name, 32) if name else ""
        t = "Press button to pair"
        self._msg(n or "Ready", t, t + " (" + n + ")" if n else t)

    def approved(self):
        self._msg("Approved", "Finishing...", "Approved - finishing pairing")

    def paired(self, name):
        n = clean(name, 64)
        self._msg("Paired", "as " + n, "Paired as " + n)

    def denied(self):
        self._msg("Denied", "Press to retry", "Denied - press to retry")

    def expired(self):
        t = "Code expired - press to retry"
        self._msg("Expired", t, t)

    def error(self, reason):
        r = clean(reason, 64)
        self._msg("Error", r, "Error: " + r)

    def unpair_confirm(self):
        t = "Press again to unpair"
        self._msg("Unpair?", t, t)

    def unpaired(self):
        self._msg("Unpaired", "Press button to pair", "Unpaired - press button to pair")
