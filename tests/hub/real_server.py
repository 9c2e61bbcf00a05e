"""What only the real single-user server does, checked through the hub's proxy: Jupyter
Server's own /api, the jupyter-kf extension's routes behind the hub's OAuth, and activity
reported back to the hub. A stand-in that answers 200 to anything fails every one."""

from __future__ import annotations

import time
from datetime import datetime
from urllib.parse import quote

import jupyter_server

import jupyter_kf

# Spawner.environment for servers that report activity every 2 s instead of every 300 s
# (jupyterhub-singleuser reads JUPYTERHUB_ACTIVITY_INTERVAL); with the hub's own polling of
# the proxy off (HUB_QUIET), a newer last_activity in the hub came from the server.
ACTIVITY_ENV = {"JUPYTERHUB_ACTIVITY_INTERVAL": "2"}
HUB_QUIET = {"last_activity_interval": 0}


def server_url(hub, user: str, server: str = "") -> str:
    """Where the hub sends the user: names escaped as JupyterHub's ``User.escaped_name``
    (``@`` and ``~`` kept; the server's base URL has them so and refuses ``%40``)."""
    named = quote(server, safe="@~") + "/" if server else ""
    return f"{hub.url}/user/{quote(user, safe='@~')}/{named}"


def _when(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def assert_real_server(hub, user: str, server: str = "", *, activity: bool = False) -> None:
    """The hub's route for ``user``/``server`` leads to a real jupyter-server with the
    jupyter-kf extension, authenticated by the hub; with ``activity``, the server's own
    activity report reaches the hub (needs ACTIVITY_ENV and HUB_QUIET)."""
    base = server_url(hub, user, server)
    auth = {"Authorization": f"token {hub.user_token(user)}"}
    r = hub.session.get(f"{base}api", headers={"Authorization": None}, timeout=30)
    assert r.status_code == 200, (r.status_code, r.url, r.text[:300])
    assert r.json() == {"version": jupyter_server.__version__}, r.text[:300]

    r = hub.session.get(f"{base}kf/api/config", headers=auth, timeout=30)
    assert r.status_code == 200, (r.status_code, r.url, r.text[:300])
    config = r.json()
    assert config["version"] == jupyter_kf.__version__ and config["available"], config
    for headers in ({"Authorization": None}, {"Authorization": "token not-a-token"}):
        r = hub.session.get(f"{base}kf/api/config", headers=headers, timeout=30)
        assert r.status_code == 403, (headers, r.status_code, r.text[:300])

    if not activity:
        return
    used_at = time.time()
    r = hub.session.get(f"{base}api/contents", headers=auth, timeout=30)  # tracked activity
    assert r.status_code == 200, r.text[:300]
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        last = (hub.server(user, server) or {}).get("last_activity")
        if last and _when(last) >= used_at - 1:
            return
        time.sleep(0.5)
    raise AssertionError(
        f"the hub's last_activity for {user}/{server} stayed {last}, before the request at "
        f"{datetime.fromtimestamp(used_at).isoformat()}"
    )
