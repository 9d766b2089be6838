"""Example task: keep working through a revoked sign-in.

When the refresh token is revoked (the user removed the device at the provider, or an Entra
refresh token went unused for 90 days), the next API call raises ``PairingRequired``; the app
then shows "Sign-in expired - press to pair" and calls ``unpaired`` - the task does not have
to catch anything. After the next pairing ``paired`` is called again and the work resumes,
with the readings taken meanwhile still queued (at most 20, oldest dropped)::

    "task": "survive_revoke",
    "task_args": {"url": "https://api.example.com/readings"}
"""

EVERY_S = 20  # the default; task_args "every_s" overrides it
every_s = EVERY_S
URL = None
queue = []
_n = [0]


def setup(args):
    global URL, every_s
    URL = args["url"]
    every_s = int(args.get("every_s", EVERY_S))


def paired(session, screen):
    print("[task] paired, %d readings queued" % len(queue))


def run(session, screen):
    _n[0] += 1
    queue.append({"sensor": "counter", "value": _n[0]})
    del queue[:-20]
    while queue:  # PairingRequired from post() leaves the rest queued for the next pairing
        r = session.post(URL, json=queue[0])
        if r.status_code not in (200, 201):
            screen.status("API said HTTP %d" % r.status_code)
            return
        queue.pop(0)
    screen.status("Sent reading %d" % _n[0])


def unpaired(session, screen):
    print("[task] unpaired: %d readings wait for the next pairing" % len(queue))
