"""S3Store against a real S3 API: moto's server on 127.0.0.1, boto3 talking HTTP to it."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import boto3
import pytest
from botocore.config import Config

from parity.errors import StoreError
from parity.store import SegmentExistsError, iter_exchanges, open_store, write_exchanges
from parity.store.s3 import S3Store
from parity.store.writer import SegmentWriter
from tests.conftest import free_port
from tests.factories import T0, make_exchange, make_exchanges, make_response

pytestmark = pytest.mark.s3


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(T0 + seconds, UTC)


def test_write_list_by_time_range_and_read_back(moto_endpoint, s3_bucket, s3_client) -> None:
    store = open_store(f"s3://{s3_bucket}/traffic/prod?endpoint_url={moto_endpoint}")
    exchanges = make_exchanges(200, step=60)  # 10:00 to 13:19
    keys = write_exchanges(store, exchanges, "rec-a", max_records=25)
    stored = s3_client.list_objects_v2(Bucket=s3_bucket)["Contents"]
    assert sorted(o["Key"] for o in stored) == sorted(f"traffic/prod/{k.name}" for k in keys)
    assert list(iter_exchanges(store)) == exchanges

    in_hour_11 = [info.key for info in store.list_segments(at(3600), at(7200))]
    assert in_hour_11 and all(k.hour.hour == 11 for k in in_hour_11)
    assert list(iter_exchanges(store, at(3600 + 600), at(7200))) == exchanges[70:120]


def test_listing_spans_days_and_ignores_foreign_objects(
    moto_endpoint, s3_bucket, s3_client
) -> None:
    store = S3Store(s3_bucket, "p", endpoint_url=moto_endpoint)
    exchanges = make_exchanges(4, start=T0 + 13 * 3600, step=3600)  # 23:00 .. 02:00 next day
    write_exchanges(store, exchanges, "rec-a")
    s3_client.put_object(Bucket=s3_bucket, Key="p/date=2026-11-24/hour=01/notes.txt", Body=b"x")
    s3_client.put_object(
        Bucket=s3_bucket, Key="other/date=2026-11-24/hour=01/r-000001.jsonl.zst", Body=b"x"
    )
    assert list(iter_exchanges(store, at(13 * 3600), at(16 * 3600))) == exchanges[:3]
    assert list(iter_exchanges(store)) == exchanges


def test_segments_are_never_overwritten(moto_endpoint, s3_bucket) -> None:
    store = S3Store(s3_bucket, "p", endpoint_url=moto_endpoint)
    key = write_exchanges(store, make_exchanges(2), "rec-a")[0]
    with pytest.raises(SegmentExistsError, match="already exists"):
        with store.create_segment(key) as stream:
            SegmentWriter(stream).write(make_exchanges(1)[0])
    assert len(list(iter_exchanges(store))) == 2


def test_large_segments_go_up_as_one_multipart_upload(
    moto_endpoint, s3_bucket, s3_client, monkeypatch
) -> None:
    import parity.store.s3

    monkeypatch.setattr(parity.store.s3, "_SINGLE_PUT_LIMIT", 1 << 20)
    monkeypatch.setattr(parity.store.s3, "_PART_SIZE", 5 << 20)  # S3's smallest part size
    store = S3Store(s3_bucket, "", endpoint_url=moto_endpoint)
    # Random bodies barely compress: a segment of several 5 MiB parts.
    exchanges = [
        make_exchange(T0 + i, response=make_response(body=os.urandom(768 * 1024)))
        for i in range(12)
    ]
    (key,) = write_exchanges(store, exchanges, "rec-a")
    head = s3_client.head_object(Bucket=s3_bucket, Key=key.name)
    parts = -(-head["ContentLength"] // (5 << 20))
    assert parts >= 2
    assert head["ETag"].strip('"').endswith(f"-{parts}")  # the ETag of a multipart upload
    assert list(iter_exchanges(store)) == exchanges


def test_a_missing_bucket_is_one_clear_sentence(moto_endpoint, s3_client) -> None:
    store = open_store(f"s3://no-such-bucket/x?endpoint_url={moto_endpoint}")
    with pytest.raises(StoreError, match=r"^S3 bucket 'no-such-bucket' does not exist .*create it"):
        list(store.list_segments())


def test_refused_credentials_are_one_clear_sentence(moto_endpoint, s3_bucket, monkeypatch) -> None:
    import moto.settings

    monkeypatch.setattr(moto.settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)
    store = S3Store(s3_bucket, "p", endpoint_url=moto_endpoint)
    with pytest.raises(
        StoreError, match=r"^S3 refused the credentials for s3://.*InvalidAccessKeyId"
    ):
        list(store.list_segments())
    with pytest.raises(StoreError, match="S3 refused the credentials"):
        write_exchanges(store, make_exchanges(1), "rec-a")


def test_an_unreachable_endpoint_is_one_clear_sentence() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, config=Config(retries={"max_attempts": 1}, connect_timeout=2)
    )
    store = S3Store("bucket", "p", endpoint_url=endpoint, client=client)
    with pytest.raises(StoreError, match=r"^cannot reach the S3 endpoint for s3://bucket/p"):
        list(store.list_segments())
