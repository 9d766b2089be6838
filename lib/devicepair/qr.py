"""QR Code encoder small enough for a board: shows the verification URL on a 128x64 OLED."""

# Pairing needs the user to open verification_uri(_complete) on a phone; a QR code on the
# display is the easiest way. Third-party encoders are too big for the ~48 KB heap, so this
# one does only what a URL needs: byte mode, error correction L or M, versions 1..10 (57x57
# modules is the largest that fits 64 pixels high with a 2-module quiet zone at scale 1).
# Memory: the matrix is one bytearray of size*size (bit 0 = dark, bit 1 = function module);
# Reed-Solomon uses 512 bytes of GF(256) exp/log tables, the masks a 72-byte table. The mask
# is chosen by the ISO 18004 penalty score over all 8 masks (encode(mask=0..7) skips that
# work on a slow board); the 1:1:3:1:1 finder-like rule looks at 11-module windows inside
# the symbol only. On a board import the mpy-cross'd .mpy (~7 KB of heap once loaded):
# compiling this source needs ~45 KB of heap (64-bit unix port) on its own.
# Docstrings are kept short on purpose: under MicroPython they cost heap while compiling.

from .qrdraw import QRCode, draw  # noqa: F401 - the symbol and its drawing live there

MAX_VERSION = 10
# Per version 1..10: total codewords of the symbol.
_TOTAL = (26, 44, 70, 100, 134, 172, 196, 242, 292, 346)
# Per ECC level: EC codewords per block for versions 1..10, then the number of blocks.
_RS = {
    "L": b"\x07\x0a\x0f\x14\x1a\x12\x14\x18\x1e\x12\x01\x01\x01\x01\x01\x02\x02\x02\x02\x04",
    "M": b"\x0a\x10\x1a\x12\x18\x10\x12\x16\x16\x1a\x01\x01\x01\x02\x02\x04\x04\x04\x05\x05",
}

# GF(256) with the QR polynomial x^8+x^4+x^3+x^2+1 (0x11d); _EXP[255] repeats _EXP[0].
_EXP = bytearray(256)
_LOG = bytearray(256)
_v = 1
for _i in range(255):
    _EXP[_i] = _v
    _LOG[_v] = _i
    _v <<= 1
    if _v & 0x100:
        _v ^= 0x11D
_EXP[255] = 1
# Every mask repeats every 6 columns and 12 rows: bit k of _MASKS[(y % 12) * 6 + x % 6] is
# set when mask k flips module (x, y), i.e. when its ISO 18004 condition is 0 (p = x * y):
# 0: (x+y)%2  1: y%2  2: x%3  3: (x+y)%3  4: (x//3+y//2)%2  5: p%2+p%3  6: (p%2+p%3)%2
# 7: ((x+y)%2+p%3)%2. host_tests/both/test_qr.py recomputes the table from these formulas.
_MASKS = (
    b"\xff\x72\xf3\x6e\xe3\x62\x74\x51\x58\x85\x80\x89\xe7\x4a\x03\x76\xdb\x92"
    b"\x6c\x81\x60\x9d\x70\x91\xf7\x92\xdb\x66\x03\x4a\x74\x99\x90\x85\x48\x41"
    b"\xef\x62\xe3\x7e\xf3\x72\x64\x41\x48\x95\x90\x99\xf7\x5a\x13\x66\xcb\x82"
    b"\x7c\x91\x70\x8d\x60\x81\xe7\x82\xcb\x76\x13\x5a\x64\x89\x80\x95\x58\x51"
)
del _v, _i  # pyright: ignore[reportPossiblyUnboundVariable] - range(255) always runs


def capacity(version, ecc="M"):
    """Bytes that fit in byte mode: 4-bit mode + 8-bit count (16-bit from version 10)."""
    rs = _RS[ecc]
    return _TOTAL[version - 1] - rs[version - 1] * rs[version + 9] - 2 - (version > 9)


def _put(buf, pos, val, nbits):
    # Write nbits of val, most significant first, at bit position pos; returns the new pos.
    for i in range(nbits - 1, -1, -1):
        if (val >> i) & 1:
            buf[pos >> 3] |= 0x80 >> (pos & 7)
        pos += 1
    return pos


def _codewords(data, version, ecc):
    # Data codewords (byte mode, terminator, pad bytes), then blocks with RS EC, interleaved.
    ndata = capacity(version, ecc) + 2 + (version > 9)  # data codewords
    buf = bytearray(ndata)
    pos = _put(buf, 0, 4, 4)
    pos = _put(buf, pos, len(data), 8 if version < 10 else 16)
    for b in data:
        pos = _put(buf, pos, b, 8)
    pos = (pos + 4 + 7) >> 3  # terminator (up to 4 zero bits), then to a byte boundary
    pad = 0xEC
    while pos < ndata:
        buf[pos] = pad
        pad ^= 0xFD  # 0xEC, 0x11, 0xEC, ...
        pos += 1
    nec = _RS[ecc][version - 1]
    nb = _RS[ecc][version + 9]
    short = ndata // nb
    first_long = nb - ndata % nb  # the last ndata % nb blocks hold one more data codeword
    out = bytearray(_TOTAL[version - 1])
    # Generator polynomial prod(x - a^i), i < nec; stored as logs, leading 1 left out.
    gen = bytearray(nec)
    gen[-1] = 1
    for r in range(nec):
        for j in range(nec):
            g = gen[j]
            gen[j] = _EXP[(_LOG[g] + r) % 255] if g else 0
            if j + 1 < nec:
                gen[j] ^= gen[j + 1]
    for j in range(nec):
        gen[j] = _LOG[gen[j]]
    rem = bytearray(nec)
    start = 0
    for blk in range(nb):
        k = short + (blk >= first_long)
        for i in range(nec):
            rem[i] = 0
        for i in range(k):
            d = buf[start + i]
            out[i * nb + blk if i < short else short * nb + blk - first_long] = d
            f = d ^ rem[0]
            for j in range(nec - 1):
                rem[j] = rem[j + 1]
            rem[-1] = 0
            if f:
                f = _LOG[f]
                for j in range(nec):
                    rem[j] ^= _EXP[(gen[j] + f) % 255]
        for i in range(nec):
            out[ndata + i * nb + blk] = rem[i]
        start += k
    return out


def _function_patterns(m, n, version):
    # Timing first: finders, separators and alignment patterns overwrite its ends.
    for i in range(n):
        m[6 * n + i] = m[i * n + 6] = 3 - (i & 1)
    for cx, cy in ((3, 3), (n - 4, 3), (3, n - 4)):
        for dy in range(-4, 5):
            for dx in range(-4, 5):
                x = cx + dx
                y = cy + dy
                if 0 <= x < n and 0 <= y < n:
                    d = max(abs(dx), abs(dy))
                    m[y * n + x] = 2 | (d != 2 and d != 4)
    if version >= 2:
        pos = (6, n // 2, n - 7) if version >= 7 else (6, n - 7)
        for cx in pos:
            for cy in pos:
                if min(cx, cy) == 6 and cx + cy in (12, n - 1):
                    continue  # the three finder corners
                for dy in range(-2, 3):
                    for dx in range(-2, 3):
                        m[(cy + dy) * n + cx + dx] = 2 | (max(abs(dx), abs(dy)) != 1)
    if version >= 7:
        rem = version
        for _ in range(12):
            rem = (rem << 1) ^ ((rem >> 11) * 0x1F25)
        bits = version << 12 | rem
        for i in range(18):
            a = n - 11 + i % 3
            b = i // 3
            m[b * n + a] = m[a * n + b] = 2 | ((bits >> i) & 1)


def _format_bits(m, n, ecc, mask):
    data = (ecc == "L") << 3 | mask  # ECC bits: L = 01, M = 00
    rem = data
    for _ in range(10):
        rem = (rem << 1) ^ ((rem >> 9) * 0x537)
    bits = (data << 10 | rem) ^ 0x5412
    for i in range(15):
        b = 2 | ((bits >> i) & 1)
        # Bit i goes around the top-left finder (down column 8, then left along row 8,
        # skipping the timing patterns) and along row 8 at the right / column 8 at the bottom.
        if i < 8:
            m[(i + (i > 5)) * n + 8] = m[9 * n - 1 - i] = b
        else:
            m[8 * n + 15 - i - (i > 8)] = m[(n - 15 + i) * n + 8] = b
    m[(n - 8) * n + 8] = 3  # the dark module


def _place(m, n, cw):
    # Zig-zag over column pairs from the bottom right, skipping the vertical timing column.
    total = len(cw) * 8
    i = 0
    right = n - 1
    while right >= 1:
        if right == 6:
            right = 5
        up = not ((right + 1) & 2)
        for v in range(n):
            y = n - 1 - v if up else v
            for x in (right, right - 1):
                k = y * n + x
                if not m[k] & 2 and i < total:
                    m[k] = (cw[i >> 3] >> (7 - (i & 7))) & 1
                    i += 1
        right -= 2


def _apply_mask(m, n, mask):
    # XOR the mask onto every non-function module (applying it twice undoes it).
    bit = 1 << mask
    k = 0
    for y in range(n):
        row = (y % 12) * 6
        for x in range(n):
            if not m[k] & 2 and _MASKS[row + x % 6] & bit:
                m[k] ^= 1
            k += 1


def _penalty(m, n):
    p = 0
    dark = 0
    for horiz in (1, 0):
        step = 1 if horiz else n
        for i in range(n):
            k = i * n if horiz else i
            prev = 2
            run = 0
            win = 0
            for j in range(n):
                c = m[k] & 1
                k += step
                dark += c
                if c == prev:
                    run += 1
                    if run == 5:
                        p += 3  # rule 1: 5 in a row of one colour, +1 per extra module
                    elif run > 5:
                        p += 1
                else:
                    prev = c
                    run = 1
                win = ((win << 1) | c) & 0x7FF
                if j >= 10 and (win == 0x5D0 or win == 0x5D):
                    p += 40  # rule 3: 1011101 with 4 light modules on one side
    for y in range(n - 1):
        k = y * n
        for _ in range(n - 1):
            c = m[k] & 1
            if c == m[k + 1] & 1 and c == m[k + n] & 1 and c == m[k + n + 1] & 1:
                p += 3  # rule 2: 2x2 block of one colour
            k += 1
    total = n * n
    dark >>= 1  # the row and the column pass both counted every module
    return p + 10 * ((abs(dark * 20 - total * 10) + total - 1) // total - 1)  # rule 4


def encode(data, ecc="M", min_version=1, max_version=MAX_VERSION, mask=None):
    """Encode str (as UTF-8) or bytes in the smallest version in min..max that fits."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    if ecc not in _RS:
        raise ValueError("QR: ecc must be L or M")
    if not 1 <= min_version <= max_version <= MAX_VERSION:
        raise ValueError("QR: bad version range")
    if mask is not None and not 0 <= mask <= 7:
        raise ValueError("QR: bad mask")
    version = min_version
    while capacity(version, ecc) < len(data):
        version += 1
        if version > max_version:
            raise ValueError("QR: data too long")
    cw = _codewords(data, version, ecc)
    n = 17 + 4 * version
    m = bytearray(n * n)
    _function_patterns(m, n, version)
    _format_bits(m, n, ecc, 0)  # reserve the format areas before placing data
    _place(m, n, cw)
    if mask is None:
        best = -1
        for k in range(8):
            _apply_mask(m, n, k)
            _format_bits(m, n, ecc, k)
            p = _penalty(m, n)
            _apply_mask(m, n, k)
            if best < 0 or p < best:
                best = p
                mask = k
    _apply_mask(m, n, mask)
    _format_bits(m, n, ecc, mask)
    return QRCode(m, n, version, ecc, mask)


def fit_scale(qr, width, height, quiet=2):
    """Largest integer scale showing qr plus its quiet zone in width x height; 0 if none."""
    return min(width, height) // (qr.size + 2 * quiet)


def to_text(qr, quiet=2, invert=False):
    """Half-block text, 2 module rows per line; dark = block (dark-on-light terminal)."""
    # Dark modules print as block characters, light ones as spaces, so the code scans on a
    # dark-on-light terminal. For a light-on-dark terminal pass invert=True (light modules
    # become the blocks); many phone scanners also read the non-inverted form inverted.
    chars = " \u2584\u2580\u2588"
    hi = qr.size + quiet
    lines = []
    for y in range(-quiet, hi, 2):
        row = []
        for x in range(-quiet, hi):
            top = qr.get(x, y) != invert
            bot = (y + 1 < hi and qr.get(x, y + 1)) != invert
            row.append(chars[top * 2 + bot])
        lines.append("".join(row))
    return "\n".join(lines)
