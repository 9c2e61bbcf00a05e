"""The list+watch cache survives the API server going away and coming back."""

import time

import pytest

from jupyter_kf.errors import BackendUnavailableError
from jupyter_kf.jobs import Code, JobSpec
from tests.support.waiting import wait_for

pytestmark = pytest.mark.cluster


@pytest.mark.parametrize("outage", [30, 90])
def test_api_server_outage(user, cluster, outage):
    c = user.client
    # The pods finish while the API server is down: a cache that kept serving what it had
    # would say Running forever.
    c.submit(
        JobSpec.create(
            "pytorch",
            name="outage",
            workers=2,
            code=Code("print(1)"),
            pod_annotations={"jupyter-kf.test/after": "8s"},
        )
    )
    wait_for(lambda: c.get("outage").phase == "Running")
    ns = user.backend._ns(None)
    with cluster.apiserver_down(outage):
        time.sleep(3)
        with pytest.raises(BackendUnavailableError, match="retrying"):
            c.get("outage")
        with pytest.raises(BackendUnavailableError):
            c.list()
    job = wait_for(lambda: c.get("outage").phase == "Succeeded", timeout=120)
    assert job
    assert all(informer.alive for informer in ns.informers())  # no thread died
    assert all(informer.synced for informer in ns.informers())


def test_410_gone_relists_once(user):
    c = user.client
    c.submit(
        JobSpec.create(
            "pytorch",
            name="gone",
            workers=1,
            code=Code("print(1)"),
            pod_annotations={"jupyter-kf.test/outcome": "run"},
        )
    )
    informer = user.backend._ns(None).pods
    wait_for(lambda: c.get("gone").phase == "Running")
    lists = informer.lists
    # Resume from a resourceVersion the API server no longer has (what compaction does to
    # a watcher that was away too long): it answers 410 Gone.
    informer._rv = "1"
    informer.reconnect()
    wait_for(lambda: informer.lists == lists + 1 and informer.synced, timeout=30)
    time.sleep(3)
    assert informer.lists == lists + 1  # one relist, not a loop
    assert informer.get("gone-master-0") is not None
    assert c.get("gone").phase == "Running"
