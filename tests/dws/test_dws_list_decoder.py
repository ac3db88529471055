"""ListDecoder: only entries that changed are parsed again; an unchanged one keeps its object."""

from __future__ import annotations

import json

import pytest
from dwskit import raw

from controller.dws.errors import MalformedResponseError
from controller.dws.parse import ListDecoder, NotAClusterList


def body(*entries: object) -> bytes:
    return json.dumps({"clusters": list(entries), "count": len(entries)}).encode()


def test_an_unchanged_entry_keeps_its_cluster_object_and_a_changed_one_is_parsed_again() -> None:
    decoder = ListDecoder()
    a, b = decoder.decode(body(raw(id="a"), raw(id="b")))
    again_a, changed_b = decoder.decode(body(raw(id="a"), raw(id="b", sub_status="NORMAL")))
    assert again_a is a
    assert changed_b is not b
    assert not changed_b.unbalanced


def test_the_same_answer_gives_back_the_same_list() -> None:
    decoder = ListDecoder()
    first = decoder.decode(body(raw(id="a")))
    assert decoder.decode(body(raw(id="a"))) is first


def test_an_unreadable_entry_is_skipped_alone_and_reported_at_every_answer() -> None:
    decoder, skipped = ListDecoder(), []
    answer = body(raw(id="a"), "not an object", raw(id="b", name=5))
    for _ in range(2):
        clusters = decoder.decode(answer, on_skip=skipped.append)
        assert [c.id for c in clusters] == ["a"]
    assert [str(e) for e in skipped] == [
        "clusters[1]: a cluster must be a JSON object, got str",
        "clusters[2]: cluster b: 'name' is int 5, expected non-empty text",
    ] * 2


def test_a_duplicated_id_is_marked_ambiguous_even_when_the_bytes_are_equal() -> None:
    (cluster,) = ListDecoder().decode(body(raw(id="a"), raw(id="a")))
    assert cluster.listing_copies == 2


@pytest.mark.parametrize("content", [b"[]", b'{"count": 0}', b'{"clusters": null}', b"nope"])
def test_an_answer_that_is_not_a_cluster_list_is_left_to_the_precise_reader(
    content: bytes,
) -> None:
    with pytest.raises(NotAClusterList):
        ListDecoder().decode(content)


def test_every_entry_unreadable_is_an_error() -> None:
    with pytest.raises(MalformedResponseError, match="none of the 1 clusters could be read"):
        ListDecoder().decode(body(5))
