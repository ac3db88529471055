"""Delivery to real receivers: Apprise's json:// posts, retries, the rate limit, the bounded queue,
and each event once per channel, also after a restart on the same journal file."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from notifykit import TOKEN, Receiver, receiver, refused_port

from controller.clock import ManualClock, SystemClock
from controller.journal import Journal
from controller.notify.apprise_channel import AppriseChannel
from controller.notify.channels import channel_key
from controller.notify.compose import Message, Target
from controller.notify.notices import Notice
from controller.notify.notifier import Notifier
from controller.notify.ratelimit import TokenBucket
from controller.notify.worker import Item, Retry, Worker
from controller.record.metrics import Metrics

T0 = dt.datetime(2026, 3, 3, 1, 0, tzinfo=dt.UTC)
FAST = Retry(attempts=3, wait_initial=0.01, wait_max=0.02, wait_jitter=0)
EVENTS = frozenset({"started", "succeeded"})


def channel(url: str, index: int = 0) -> AppriseChannel:
    return AppriseChannel(f"json#{index}", channel_key(url), EVENTS, lambda: url)


def hook(r: Receiver) -> str:
    return f"json://127.0.0.1:{r.port}/{TOKEN}"


def worker(ch: AppriseChannel, journal: Journal, metrics: Metrics, **kw: object) -> Worker:
    metrics.declare_notification_channel(ch.label, sorted(EVENTS))
    return Worker(
        ch, journal=journal, count=metrics.count_notification, clock=SystemClock(),
        retry=kw.pop("retry", FAST), **kw,  # type: ignore[arg-type]
    )  # fmt: skip


def counted(
    metrics: Metrics, outcome: str, event: str = "started", channel: str = "json#0"
) -> float:
    labels = {"channel": channel, "event": event, "outcome": outcome}
    return metrics.registry.get_sample_value("dws_rebalancer_notifications_total", labels) or 0.0


async def deliver_all(*workers: Worker, seconds: float = 10.0) -> None:
    tasks = [asyncio.create_task(w.run()) for w in workers]
    for w in workers:
        w.close()
    await asyncio.wait_for(asyncio.gather(*tasks), seconds)


def notice(key: str = "started:c1:2026-03-03T01:00:00+00:00") -> Notice:
    return Notice("started", key, "c1", "sales-dw", "trigger controller, posted")


async def test_a_json_webhook_receives_subject_and_body(tmp_path: Path) -> None:
    metrics = Metrics()
    with receiver() as r, Journal.open(tmp_path / "j.db", now=T0) as journal:
        w = worker(channel(hook(r)), journal, metrics)
        notifier = Notifier([w], Target("proj-1", "cn-north-4", None, "en"))
        notifier.offer(notice())
        notifier.offer(Notice("breaker_opened", "b", "c1", "sales-dw"))  # not subscribed
        await deliver_all(w)
    [(path, body)] = r.posts
    assert path == f"/{TOKEN}"
    assert body["title"] == "[dws-rebalancer] Switchover started on sales-dw"
    assert "Project: proj-1, region cn-north-4" in body["message"]
    assert counted(metrics, "sent") == 1


async def test_each_event_reaches_a_channel_once_also_after_a_restart(tmp_path: Path) -> None:
    with receiver() as r:
        for _ in range(2):  # two processes, one journal file
            metrics = Metrics()
            with Journal.open(tmp_path / "j.db", now=T0) as journal:
                w = worker(channel(hook(r)), journal, metrics)
                item = Item(notice().key, "started", Message("s", "b"))
                w.offer(item)
                w.offer(item)
                await deliver_all(w)
        assert len(r.posts) == 1
        assert counted(metrics, "duplicate") == 2  # the second process skipped both
        assert counted(metrics, "sent") == 0


async def test_another_channel_still_gets_the_event(tmp_path: Path) -> None:
    with receiver() as a, receiver() as b, Journal.open(tmp_path / "j.db", now=T0) as journal:
        metrics = Metrics()
        workers = [
            worker(channel(hook(a), 0), journal, metrics),
            worker(channel(hook(b), 1), journal, metrics),
        ]
        Notifier(workers, Target("p", "r")).offer(notice())
        await deliver_all(*workers)
    assert (len(a.posts), len(b.posts)) == (1, 1)


async def test_a_failing_webhook_is_retried_with_backoff_then_counted_failed(
    tmp_path: Path,
) -> None:
    metrics = Metrics()
    with receiver() as r, Journal.open(tmp_path / "j.db", now=T0) as journal:
        r.status = 503
        w = worker(channel(hook(r)), journal, metrics)
        w.offer(Item("k1", "started", Message("s", "b")))
        await deliver_all(w)
        assert len(r.posts) == FAST.attempts
        assert counted(metrics, "failed") == 1
        assert not journal.notification_sent("k1", channel_key(hook(r)))
        r.status = 200  # the same event recorded again later is tried again
        w = worker(channel(hook(r)), journal, metrics)
        w.offer(Item("k1", "started", Message("s", "b")))
        await deliver_all(w)
        assert journal.notification_sent("k1", channel_key(hook(r)))
    assert counted(metrics, "sent") == 1


async def test_a_refused_connection_fails_without_hurting_anyone(tmp_path: Path) -> None:
    metrics = Metrics()
    url = f"json://127.0.0.1:{refused_port()}/{TOKEN}"
    with Journal.open(tmp_path / "j.db", now=T0) as journal:
        w = worker(channel(url), journal, metrics)
        w.offer(Item("k1", "started", Message("s", "b")))
        await deliver_all(w)
    assert counted(metrics, "failed") == 1


async def test_the_rate_limit_spaces_a_burst_out(tmp_path: Path) -> None:
    metrics = Metrics()
    with receiver() as r, Journal.open(tmp_path / "j.db", now=T0) as journal:
        # 2 at once, then one every 0.2 s (300 a minute)
        w = worker(channel(hook(r)), journal, metrics, bucket=TokenBucket(300, burst=2))
        for n in range(4):
            w.offer(Item(f"k{n}", "started", Message(f"s{n}", "b")))
        task = asyncio.create_task(w.run())
        await asyncio.sleep(0.1)
        assert len(r.posts) == 2  # the burst went, the rest waits for tokens
        w.close()
        await asyncio.wait_for(task, 5)
    assert [b["title"] for b in r.bodies()] == ["s0", "s1", "s2", "s3"]


def test_the_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(per_minute=20, burst=2)
    assert [bucket.wait(0.0), bucket.wait(0.0)] == [0.0, 0.0]
    assert bucket.wait(0.0) == pytest.approx(3.0)  # 20 a minute: one token every 3 s
    assert bucket.wait(3.0) == 0.0
    assert bucket.wait(3.0) == pytest.approx(3.0)


async def test_a_full_queue_drops_the_oldest_and_counts_it(tmp_path: Path) -> None:
    metrics = Metrics()
    with receiver() as r, Journal.open(tmp_path / "j.db", now=T0) as journal:
        w = worker(channel(hook(r)), journal, metrics, queue_size=2)
        for n in range(4):  # nothing runs yet: offers only queue
            w.offer(Item(f"k{n}", "started", Message(f"s{n}", "b")))
        await deliver_all(w)
    assert [b["title"] for b in r.bodies()] == ["s2", "s3"]
    assert counted(metrics, "dropped") == 2


async def test_a_drain_that_runs_out_of_time_abandons_the_rest(tmp_path: Path) -> None:
    metrics = Metrics()
    with receiver() as r, Journal.open(tmp_path / "j.db", now=T0) as journal:
        w = worker(channel(hook(r)), journal, metrics, bucket=TokenBucket(1, burst=1))
        notifier = Notifier([w], Target("p", "r"))
        notifier.start()
        for n in range(3):
            notifier.offer(notice(f"k{n}"))
        clock = ManualClock(T0)
        began = clock.monotonic()
        await notifier.stop(drain_seconds=0.3)
        assert clock.monotonic() == began
    assert len(r.posts) == 1
    assert counted(metrics, "abandoned") == 2
