"""Names from any user name: valid, stable, bounded, collision-free (pure, no cluster)."""

from __future__ import annotations

import itertools
import re

import pytest

from jupyter_kf.hub.slugs import label_value, multi_slug, safe_slug, server_slug

DNS = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")
LABEL = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9_.-]*[A-Za-z0-9])?)?$")


@pytest.mark.parametrize(
    "name,expected",
    [
        ("alice", "alice"),
        ("a", "a"),
        ("bob-smith", "bob-smith"),
        ("9lives", "9lives"),
        ("Alice", "alice---3bc51062"),
        ("alice@example.com", "alice-example-com---" + "HASH"),
        ("a--b", "a-b---HASH"),
        ("-x-", "x---HASH"),
        ("", "x---HASH"),
        ("ü", "x---HASH"),
        ("../..", "x---HASH"),
        ("UPPER_case.Name", "upper-case-name---HASH"),
    ],
)
def test_safe_slug_table(name, expected):
    got = safe_slug(name)
    assert DNS.match(got) and len(got) <= 63
    if "HASH" in expected:
        assert got.startswith(expected.replace("HASH", "")) and re.search(r"---[0-9a-f]{8}$", got)
    else:
        assert got == expected


@pytest.mark.parametrize("budget", [12, 20, 48, 63])
def test_budgets_are_kept_even_for_10kb_names(budget):
    for name in ["a" * 10_000, "Ä" * 5000, "x" * (budget + 1), "ok-" * 100]:
        got = safe_slug(name, budget)
        assert len(got) <= budget and DNS.match(got)
    assert len(multi_slug("u" * 10_000, "s" * 10_000, 48)) <= 48


def test_no_collisions_across_tricky_names():
    names = [
        "a",
        "A",
        "a-",
        "-a",
        "a--b",
        "a-b",
        "a_b",
        "a.b",
        "a b",
        "a---b",
        "alice",
        "Alice",
        "ALICE",
        "alice1",
        "alice-1",
        "alice--1",
        "x",
        "",
        "ü",
        "u",
        "ū",
        "a" * 63,
        "a" * 64,
        "a" * 65,
        "a" * 10_000,
        "a" * 10_001,
    ]
    servers = ["", "dev", "Dev", "d-e-v", "dev--x", "1"]
    slugs = {}
    for user, server in itertools.product(names, servers):
        slug = server_slug(user, server, 48)
        assert DNS.match(slug) and len(slug) <= 48, (user, server, slug)
        assert slugs.setdefault(slug, (user, server)) == (user, server), f"{slug} twice"


def test_stable_and_user_server_shape():
    assert safe_slug("Alice") == safe_slug("Alice")
    assert re.fullmatch(r"erin--dev---[0-9a-f]{8}", multi_slug("erin", "dev"))
    assert server_slug("erin") == "erin"


@pytest.mark.parametrize("name", ["alice", "Alice.B_c", "", "ü@x", "a" * 64, "a--b", "-x"])
def test_label_values(name):
    got = label_value(name)
    assert LABEL.match(got) and len(got) <= 63
    if LABEL.match(name) and len(name) <= 63 and "--" not in name:
        assert got == name
