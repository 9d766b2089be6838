#!/usr/bin/env python3
"""Write config.json from flags (or prompts), checked by the board's own code, and copy it.

    python tools/provision.py --wifi 'HomeNet:correct horse' --provider auth0 \\
        --domain me.eu.auth0.com --client-id abc --param audience=https://api.example.com \\
        --ca-pem isrg-root-x1.pem --port /dev/ttyUSB0

Why a tool: config.json is the file users get wrong, and on a board a mistake shows up only
at boot. The result is checked with the SAME code the board runs at boot -
``devicepair.config.Config.from_dict`` and ``devicepair.providers.resolve`` imported from lib/
- and an invalid config is never written; the ConfigError message names the field. With
``--issuer`` (provider "generic") OpenID discovery runs here on the host (tools/discover.py),
so the board gets the endpoints and never downloads the discovery document. ``--ca-pem``
(repeatable, each file one certificate or a bundle) is converted to DER (the board's TLS takes
only DER) and written as ca.der next to config.json, with ``"ca_file": "ca.der"``; several
roots are kept, since providers rotate them. ``--ca-from-trust-store`` adds the roots the
board's hosts (endpoints, API, issuer) need, picked from this computer's trust store (or
``--trust-store PEM``) by connecting to each host (tools/caroots.py); without a network it
says so and writes nothing.

Missing required values (the board code says which: "config: client_id is missing") are
asked for when stdin is a terminal (passwords and secrets without echo); otherwise the tool
exits with status 2 naming every missing field. Wi-Fi passwords and the client secret are
never printed: every echo masks them. Flags end up in shell history and ``ps``; leave a
password out (``--wifi SSID``) to be asked for it instead. The files are written mode 0600.

``--port`` copies config.json (and ca.der) with ``mpremote connect PORT resume fs cp``.
``--dry-run`` checks and prints (masked) what would be written and the copy commands, and
writes nothing. Exit status: 0 done, 1 refused (invalid config, discovery or copy failed),
2 missing values or unusable arguments.
"""

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if os.path.join(ROOT, "lib") not in sys.path:
    sys.path.insert(0, os.path.join(ROOT, "lib"))  # this checkout's devicepair, always
if HERE not in sys.path:
    sys.path.append(HERE)  # pem2der, discover (already first when run as a script)

from devicepair.config import MAX_CONFIG, PROVIDER_PARAMS, Config  # noqa: E402  (board checks)
from devicepair.errors import ConfigError  # noqa: E402
from devicepair import providers  # noqa: E402
import caroots  # noqa: E402  (tools/, standard library only)
from pem2der import read_certs  # noqa: E402

MASK = "********"
CA_NAME = "ca.der"
PARAM_FLAGS = PROVIDER_PARAMS
ENDPOINT_FLAGS = ("device_authorization_endpoint", "token_endpoint", "userinfo_endpoint")
# How to give a field that the board code reports missing.
HINTS = {
    "wifi": "--wifi SSID:PASSWORD",
    "client_id": "--client-id ID",
    "client_secret": "--client-secret SECRET",
    "device_authorization_endpoint": "--issuer URL or --device-authorization-endpoint URL",
    "token_endpoint": "--issuer URL or --token-endpoint URL",
    "userinfo_endpoint": "--userinfo-endpoint URL",
}
# Stand-ins used only to find every missing field at once (never written).
_PLACEHOLDER_URL = "https://placeholder.invalid/x"


class UsageError(Exception):
    """A flag or input file that cannot be used; exit status 2."""


def hint(field):
    if field in HINTS:
        return HINTS[field]
    if field.startswith("wifi["):
        return "--wifi SSID:PASSWORD (SSID: for an open network)"
    return "--" + field.replace("_", "-")


def parse_wifi(spec):
    """``SSID:PASSWORD`` -> {"ssid", "password"}; ``\\:`` is a colon inside the SSID;
    ``SSID:`` is an open network; plain ``SSID`` leaves the password to be asked for."""
    ssid, i = [], 0
    while i < len(spec):
        c = spec[i]
        if c == "\\" and i + 1 < len(spec):
            ssid.append(spec[i + 1])
            i += 2
            continue
        if c == ":":
            return {"ssid": "".join(ssid), "password": spec[i + 1:]}
        ssid.append(c)
        i += 1
    return {"ssid": "".join(ssid)}  # no password given: asked for, or reported missing


def parse_param(spec):
    key, sep, value = spec.partition("=")
    if not sep or not key:
        raise UsageError("--param wants KEY=VALUE (e.g. audience=https://api.example.com)")
    return key, value


def build(a):
    """The config dict from the parsed flags, keys in the order a person reads them."""
    d = {}
    if a.wifi:
        d["wifi"] = [parse_wifi(w) for w in a.wifi]
    for k in ("hostname", "country", "provider"):
        if getattr(a, k):
            d[k] = getattr(a, k)
    for k in PARAM_FLAGS + ENDPOINT_FLAGS:
        if getattr(a, k):
            d[k] = getattr(a, k)
    for k in ("client_id", "client_secret", "scope"):
        if getattr(a, k) is not None:
            d[k] = getattr(a, k)
    if a.param:
        d["extra_params"] = dict(parse_param(p) for p in a.param)
    if a.api_url:
        d["api_url"] = a.api_url
    if a.ca_pem or a.ca_from_trust_store:
        d["ca_file"] = CA_NAME
    if a.allow_insecure_http:
        d["allow_insecure_http"] = True
    return d


def validate(d):
    """The board's boot-time checks on ``d``: a Config, or ConfigError for the first problem."""
    cfg = Config.from_dict(d)
    providers.resolve(cfg)  # no transport: presets and endpoints only, no network
    if len(encode(d)) > MAX_CONFIG:
        raise ConfigError("config.json", "would be larger than %d bytes" % MAX_CONFIG)
    return cfg


def missing_field(err):
    """The field named by a ConfigError that says something is missing, else None."""
    if str(err).startswith("config: %s is missing" % err.field):
        return err.field
    return None


def _placeholder(d, field):
    if field == "wifi":
        d["wifi"] = [{"ssid": "placeholder", "password": ""}]
    elif field.startswith("wifi[") and field.endswith("].password"):
        d["wifi"][int(field[5:field.index("]")])]["password"] = ""
    elif field.endswith("_endpoint") or field in ("base_url", "api_url", "issuer"):
        d[field] = _PLACEHOLDER_URL
    elif field == "domain":
        d[field] = "placeholder.invalid"
    else:
        d[field] = "placeholder"


def all_missing(d):
    """Every field the board code reports missing, found by filling stand-ins (bounded)."""
    probe = json.loads(json.dumps(d))
    found = []
    for _ in range(16):
        try:
            validate(probe)
            return found
        except ConfigError as e:
            f = missing_field(e)
            if f is None or f in found:
                return found
            found.append(f)
            _placeholder(probe, f)
    return found


def encode(d):
    # UTF-8, not \\u escapes: MicroPython's json does not join surrogate pairs (emoji SSIDs).
    return (json.dumps(d, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def masked(d):
    """A copy of ``d`` safe to print: Wi-Fi passwords and the client secret masked."""
    m = json.loads(json.dumps(d))
    for net in m.get("wifi") or []:
        if isinstance(net, dict) and net.get("password"):
            net["password"] = MASK
    if m.get("client_secret"):
        m["client_secret"] = MASK
    return m


class Prompter:
    """Asks for missing values on a terminal; secrets without echo."""

    def __init__(self, ask=input, ask_secret=None):
        import getpass

        self.ask = ask
        self.ask_secret = ask_secret or getpass.getpass

    def fill(self, d, field, a):
        if field == "wifi":
            ssid = self.ask("Wi-Fi network name (SSID): ").strip()
            d["wifi"] = [{"ssid": ssid}]
            field = "wifi[0].password"
        if field.startswith("wifi[") and field.endswith("].password"):
            net = d["wifi"][int(field[5:field.index("]")])]
            net["password"] = self.ask_secret(
                "Wi-Fi password for %s (empty for an open network): " % net.get("ssid"))
            return
        if field in ("device_authorization_endpoint", "token_endpoint") \
                and d.get("provider", "generic") == "generic" and not d.get("issuer"):
            iss = self.ask("OpenID issuer URL (empty to type the endpoints): ").strip()
            if iss:
                d["issuer"] = iss
                d.update(resolve_issuer(iss, a))
                return
        if field == "client_secret":
            d[field] = self.ask_secret("client secret: ")
            return
        d[field] = self.ask("%s: " % field).strip()


def resolve_issuer(issuer, a):
    """Endpoints from the issuer's discovery document (explicit endpoint flags win)."""
    from discover import discover

    context = None
    if a.ca_pem:
        import ssl

        context = ssl.create_default_context(cafile=a.ca_pem)
    try:
        found = discover(issuer, allow_insecure_http=a.allow_insecure_http, context=context)
    except (ValueError, OSError) as e:
        raise DiscoveryFailed(str(e))
    return {k: v for k, v in found.items() if k in ENDPOINT_FLAGS and not getattr(a, k, None)}


class DiscoveryFailed(Exception):
    pass


def board_hosts(d):
    """[(host, port)] of every https:// host the board with config ``d`` talks to."""
    from devicepair import urls

    cfg = validate(d)
    p = providers.resolve(cfg)
    found = []
    for url in (p.device_authorization_endpoint, p.token_endpoint, p.refresh_endpoint,
                p.whoami_url, cfg.api_url, p.issuer and p.issuer.rstrip("/") + "/"):
        if url:
            scheme, host, port, _ = urls.split_url(url)
            if scheme == "https" and (host, port) not in found:
                found.append((host, port))
    return found


def ca_certs(a, d):
    """[DER] for ca.der: the --ca-pem files' certificates, then the trust-store roots the
    board's hosts need (--ca-from-trust-store); each once. ValueError / RootsError."""
    certs = []
    for src in a.ca_pem or ():
        certs += read_certs(src)
    if a.ca_from_trust_store:
        store = caroots.load_store(a.trust_store or caroots.default_store())
        certs += caroots.roots_for(board_hosts(d), store,
                                   out=lambda m: print("provision: root for " + m))
    out = []
    for der in certs:
        if der not in out:
            out.append(der)
    return out


def write_private(path, data):
    """Atomically write ``data`` to ``path``, readable by the owner only (it holds secrets)."""
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".provision-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def mpremote_path():
    if os.environ.get("MPREMOTE"):
        return os.environ["MPREMOTE"]
    cand = os.path.join(os.path.dirname(sys.executable), "mpremote")
    return cand if os.path.exists(cand) else (shutil.which("mpremote") or "mpremote")


def copy_commands(port, out, ca):
    cmd = [mpremote_path(), "connect", port, "resume", "fs", "cp", out, ":/config.json"]
    if ca:
        cmd += ["+", "fs", "cp", ca, ":/" + CA_NAME]
    return [cmd]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # argparse would echo stray words, and an unquoted "--wifi Home:two words" leaves part
        # of a password among them: never show them.
        if message.startswith("unrecognized arguments"):
            message = ("unrecognized arguments (not shown, they may hold a password): quote "
                       "values with spaces, e.g. --wifi 'Home Net:my pass phrase'")
        argparse.ArgumentParser.error(self, message)


def parser():
    ap = _Parser(
        description="Write config.json from flags (asking for what is missing on a terminal), "
        "checked with the board's own lib/devicepair/config.py, and optionally copy it.",
        epilog="Wi-Fi passwords and the client secret are never printed.")
    ap.add_argument("--out", default="config.json", help="file to write (default config.json)")
    ap.add_argument("--port", help="also copy config.json (and ca.der) to the board")
    ap.add_argument("--dry-run", action="store_true", help="check and print, write nothing")
    ap.add_argument("--wifi", action="append", metavar="SSID:PASSWORD",
                    help="a Wi-Fi network (repeatable, tried in order); 'SSID:' = open "
                    "network; plain 'SSID' = ask for the password; '\\:' = colon in the SSID")
    ap.add_argument("--provider", help="preset name, e.g. auth0, entra, google, github, okta, "
                    "keycloak, proxy; default generic (explicit endpoints or --issuer)")
    for k in PARAM_FLAGS:
        ap.add_argument("--" + k.replace("_", "-"), dest=k, metavar="VALUE",
                        help="provider parameter %s" % k + (
                            " (provider generic: OIDC discovery runs here, on the host)"
                            if k == "issuer" else ""))
    for k in ENDPOINT_FLAGS:
        ap.add_argument("--" + k.replace("_", "-"), dest=k, metavar="URL")
    ap.add_argument("--client-id")
    ap.add_argument("--client-secret", help="only for providers that need one (Google)")
    ap.add_argument("--scope")
    ap.add_argument("--param", action="append", metavar="KEY=VALUE",
                    help="extra request parameter, e.g. audience=https://api.example.com")
    ap.add_argument("--api-url", help="API to call once paired (default: userinfo)")
    ap.add_argument("--hostname")
    ap.add_argument("--country", help="2-letter Wi-Fi country code, e.g. DE")
    ap.add_argument("--ca-pem", metavar="FILE", action="append",
                    help="CA certificate(s) (PEM; repeatable, bundles too), written as DER "
                    "to ca.der next to config.json")
    ap.add_argument("--ca-from-trust-store", action="store_true",
                    help="also add the roots the board's hosts need, found by connecting to "
                    "them and matching this computer's trust store (needs the network)")
    ap.add_argument("--trust-store", metavar="PEM",
                    help="trust store for --ca-from-trust-store (default: the system's)")
    ap.add_argument("--allow-insecure-http", action="store_true",
                    help="allow http:// to a loopback host (local development only)")
    return ap


def main(argv=None, stdin=None, prompter=None):
    a = parser().parse_args(argv)
    stdin = stdin or sys.stdin

    def fail(msg, code):
        print("provision: " + msg, file=sys.stderr)
        return code

    try:
        d = build(a)
        for src in a.ca_pem or ():
            if not os.path.isfile(src):
                raise UsageError("--ca-pem %s does not exist" % src)
        if a.issuer and d.get("provider", "generic") == "generic":
            d.update(resolve_issuer(a.issuer, a))
        interactive = stdin.isatty()
        for _ in range(16):  # bounded: each round fills one missing field
            try:
                validate(d)
                break
            except ConfigError as e:
                field = missing_field(e)
                if field is None:
                    return fail("refused, nothing written: %s" % e, 1)
                if not interactive:
                    fields = all_missing(d) or [field]
                    return fail("missing %s (stdin is not a terminal, so nothing is asked)"
                                % "; ".join("%s (%s)" % (f, hint(f)) for f in fields), 2)
                (prompter or Prompter()).fill(d, field, a)
        else:
            return fail("gave up after 16 questions", 2)
    except UsageError as e:
        return fail(str(e), 2)
    except DiscoveryFailed as e:
        return fail("OpenID discovery failed, nothing written: %s" % e, 1)
    except (EOFError, KeyboardInterrupt):
        return fail("cancelled, nothing written", 2)

    data = encode(d)
    out_dir = os.path.dirname(os.path.abspath(a.out))
    want_ca = a.ca_pem or a.ca_from_trust_store
    ca_out = os.path.join(os.path.dirname(a.out), CA_NAME) if want_ca else None
    if want_ca:  # converted (and hosts asked) even on a dry run: a bad PEM must show now
        try:
            certs = ca_certs(a, d)
        except caroots.RootsError as e:  # the message says what to do
            return fail("CA roots from the trust store: %s; nothing written" % e, 1)
        except (ValueError, OSError) as e:
            return fail("--ca-pem refused, nothing written: %s" % e, 2)
        der = b"".join(certs)
    if not a.dry_run:
        try:
            os.makedirs(out_dir, exist_ok=True)
            if want_ca:
                write_private(ca_out, der)
            write_private(a.out, data)
        except OSError as e:
            return fail("cannot write %s: %s" % (a.out, e), 1)

    shown = json.dumps(masked(d), indent=2, ensure_ascii=False)
    verb = "would write" if a.dry_run else "wrote"
    print("provision: %s %s (%d bytes, checked with lib/devicepair/config.py):"
          % (verb, a.out, len(data)))
    print(shown)
    if want_ca:
        print("provision: %s %s (%d bytes, %d certificate%s as DER)" % (
            verb, ca_out, len(der), len(certs), "s" if len(certs) > 1 else ""))
    if a.port:
        for cmd in copy_commands(a.port, a.out, ca_out):
            print(shlex.join(cmd))
            if not a.dry_run and subprocess.run(cmd).returncode:
                return fail("copying to %s failed" % a.port, 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
