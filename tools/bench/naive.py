# The obvious device flow with the interpreter's frozen requests + json, for comparison.
# No TLS verification, no size caps, no error handling: what devicepair must beat.
# argv: BASE_URL TOKEN_PATH; exit 0 and "BENCH ok" once the tokens are written.
import sys
import json
import requests

base, path = sys.argv[1], sys.argv[2]
hdr = {"Content-Type": "application/x-www-form-urlencoded"}
r = requests.post(base + "/device", headers=hdr,
                  data="client_id=bench-client&scope=openid+profile+offline_access")
d = r.json()
r.close()
t = {}
for _ in range(20):
    r = requests.post(base + "/token", headers=hdr,
                      data="grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Adevice_code"
                      "&device_code=" + d["device_code"] + "&client_id=bench-client")
    t = r.json()
    r.close()
    if "access_token" in t:
        break
if "access_token" not in t:
    print("BENCH failed: no token")
    sys.exit(1)
with open(path, "w") as f:
    json.dump({"access_token": t["access_token"], "refresh_token": t.get("refresh_token")}, f)
print("BENCH ok")
