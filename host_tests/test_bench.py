"""`make bench` counts only real pairings: a run that ends anywhere but "Paired as <name>"
is a failure with its reason, never a figure (its scripts are -O3: no assert to lean on).

Runs the bench's own run_once (tools/bench/run.py) on the PyPI interpreter at a roomy heap.
"""

import json

import pytest

from conftest import bench_run, micropython_bin

bench = bench_run()


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("bench"))
    tree, _, sizes = bench.prepare(tmp)
    interp = bench.Interp("pypi", "PyPI 64-bit", micropython_bin(), None, tree)
    servers = bench.Servers(bench.Certs(tmp))
    yield interp, servers, sizes
    servers.stop()


class _Scripted(bench.Row):
    def __init__(self, script, name_reply=None, chain="http"):
        super().__init__("test", "app", chain)
        self._script = script
        if name_reply is not None:
            self._script["/me"] = [{"json": name_reply, "repeat": 3}]

    def script_for(self):
        return json.loads(json.dumps(self._script))


def test_a_real_pairing_passes_over_http_and_tls(setup):
    interp, servers, _ = setup
    for chain in ("http", "rsa", "ecdsa"):
        assert bench.run_once(interp, bench.Row("t", "app", chain), 256, servers) == \
            (True, None), chain
    assert bench.run_once(interp, bench.Row("t", "app", "rsa", stored=True), 256, servers) == \
        (True, None)


def test_a_denied_pairing_is_a_failure(setup):
    interp, servers, _ = setup
    s = bench.scenario(bench.ACCESS, bench.REFRESH)
    s["/token"] = [{"status": 400, "json": {"error": "access_denied"}}]
    ok, why = bench.run_once(interp, _Scripted(s), 256, servers)
    assert not ok and "denied" in why


def test_paired_under_the_wrong_name_is_a_failure(setup):
    interp, servers, _ = setup
    s = bench.scenario(bench.ACCESS, bench.REFRESH)
    ok, why = bench.run_once(interp, _Scripted(s, {"sub": "u-2", "name": "Someone Else"}), 256,
                             servers)
    assert not ok and "Someone Else" in why


def test_an_error_on_the_way_is_a_failure(setup):
    # a 500 on the device code request: the app retries and might pair later, but a figure
    # must come from a pairing that never showed an error
    interp, servers, _ = setup
    s = bench.scenario(bench.ACCESS, bench.REFRESH)
    s["/device"] = [{"status": 500, "body": "oops"}] + s["/device"]
    ok, why = bench.run_once(interp, _Scripted(s), 256, servers)
    assert not ok and "error" in why


def test_too_small_a_heap_fails_and_min_heap_finds_the_edge(setup):
    interp, servers, _ = setup
    row = bench.Row("t", "pairing", "http")
    assert not bench.run_once(interp, row, 16, servers)[0]
    kb, runs, why, first = bench.min_heap(interp, row, servers)
    assert why is None and 16 < kb < 256 and first <= kb
    assert bench.run_once(interp, row, kb, servers)[0]
    assert not bench.run_once(interp, row, first - 1, servers)[0]
