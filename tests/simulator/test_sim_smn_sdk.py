"""The vendor's own SMN client (huaweicloudsdksmn) publishes to the emulated SMN over a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException, ServerResponseException
from huaweicloudsdksmn.v2 import PublishMessageRequest, PublishMessageRequestBody, SmnClient
from sim_helpers import AK, PROJECT, SK

from controller.simulator.server import BackgroundServer
from controller.simulator.smn import PUBLISH
from controller.simulator.world import Simulator

pytestmark = pytest.mark.e2e
TOPIC = f"urn:smn:cn-north-4:{PROJECT}:dws-ops"


@pytest.fixture
def server(sim: Simulator) -> Iterator[BackgroundServer]:
    # Signatures are judged by the wall clock: the vendor SDK signs with the real time.
    with BackgroundServer(sim) as running:
        yield running


def sdk(url: str, sk: str = SK) -> Any:
    credentials = BasicCredentials(AK, sk, PROJECT)
    return SmnClient.new_builder().with_credentials(credentials).with_endpoints([url]).build()


def publish(url: str, subject: str = "switchover started", sk: str = SK) -> Any:
    body = PublishMessageRequestBody(subject=subject, message="sales-dw: a switchover started")
    return sdk(url, sk).publish_message(PublishMessageRequest(topic_urn=TOPIC, body=body))


def test_the_vendor_sdk_publishes(server: BackgroundServer, sim: Simulator) -> None:
    answer = publish(server.url)
    [published] = sim.smn.messages()
    assert answer.message_id == published.message_id
    assert answer.request_id
    assert (published.topic_urn, published.subject) == (TOPIC, "switchover started")
    assert sim.counts[PUBLISH] == 1


def test_the_vendor_sdk_is_refused_with_a_wrong_key(
    server: BackgroundServer, sim: Simulator
) -> None:
    with pytest.raises(ClientRequestException) as refused:
        publish(server.url, sk="not-the-secret-key")
    assert refused.value.status_code == 401
    assert sim.smn.messages() == []


def test_the_vendor_sdk_sees_an_injected_fault(server: BackgroundServer, sim: Simulator) -> None:
    sim.smn.inject("status", times=1, status=503)
    with pytest.raises(ServerResponseException) as failed:
        publish(server.url)
    assert failed.value.status_code == 503
    publish(server.url)  # the fault was used up
    assert len(sim.smn.messages()) == 1


def test_a_subject_over_512_bytes_is_refused(server: BackgroundServer, sim: Simulator) -> None:
    with pytest.raises(ClientRequestException) as refused:
        publish(server.url, subject="主" * 200)  # 600 bytes
    assert refused.value.status_code == 400
    assert sim.smn.messages() == []
