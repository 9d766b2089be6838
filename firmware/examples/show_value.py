"""Example task: show a value from your provider's API on the OLED, refreshed every minute.

For example Microsoft Graph's ``/me`` (the job title) or the OIDC userinfo (the e-mail)::

    "task": "show_value",
    "task_args": {"url": "https://graph.microsoft.com/v1.0/me", "field": "jobTitle",
                  "label": "Job"}

GitHub's notifications (``https://api.github.com/notifications`` with ``"count": true``)
show how many unread threads there are. The value is cleaned before it is drawn (the screen
also sanitises), and a missing field shows as "-".
"""

EVERY_S = 60  # the default; task_args "every_s" overrides it
every_s = EVERY_S
URL = FIELD = LABEL = None
COUNT = False
HEADERS = None


def setup(args):
    global URL, FIELD, LABEL, COUNT, HEADERS, every_s
    URL = args["url"]
    FIELD = args.get("field")
    COUNT = bool(args.get("count", False))
    LABEL = args.get("label") or FIELD or "Count"
    every_s = int(args.get("every_s", EVERY_S))
    if "api.github.com" in URL:  # GitHub's REST API wants these
        HEADERS = {"Accept": "application/vnd.github+json", "User-Agent": "devicepair"}


def value(data):
    if COUNT:
        return str(len(data)) if isinstance(data, list) else "-"
    v = data.get(FIELD) if isinstance(data, dict) else None
    return str(v)[:40] if isinstance(v, (str, int, float)) else "-"


def run(session, screen):
    r = session.get(URL, headers=HEADERS)
    if r.status_code != 200:
        screen.status("%s: HTTP %d" % (LABEL, r.status_code))
        return
    screen.status("%s: %s" % (LABEL, value(r.json())))
