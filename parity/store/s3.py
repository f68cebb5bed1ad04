"""The S3 store: segments in a bucket under a prefix, written and read through boto3."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import IO, TYPE_CHECKING, Any, Final

from parity.errors import StoreError, UsageError
from parity.store.base import SegmentExistsError, SegmentInfo, hour_overlaps
from parity.store.segments import SegmentKey

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Store"]

_SINGLE_PUT_LIMIT: Final = 64 << 20
_PART_SIZE: Final = 16 << 20


class S3Store:
    """Segments in an S3 bucket under a prefix, through boto3.

    Credentials come from the standard AWS chain (environment, profile, role).
    `endpoint_url` points at an S3-compatible server; without it, boto3's own
    `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` settings apply.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        client: S3Client | None = None,
    ) -> None:
        if not bucket:
            raise UsageError("an S3 store needs a bucket name: s3://bucket/prefix")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.endpoint_url = endpoint_url
        self._client = client

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    @property
    def client(self) -> S3Client:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3", endpoint_url=self.endpoint_url)
        return self._client

    def _object_key(self, name: str) -> str:
        return f"{self.prefix}/{name}" if self.prefix else name

    def _call(self, action: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:
            raise _s3_error(exc, self, action) from None

    def check_writable(self) -> None:
        """Reach the bucket with these credentials (HeadBucket): `StoreError` if not. The
        right to write is shown by the first upload; a recorder spools until then."""
        self._call("reach", self.client.head_bucket, Bucket=self.bucket)

    def list_segments(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[SegmentInfo]:
        for list_prefix in self._list_prefixes(since, until):
            paginator = self.client.get_paginator("list_objects_v2")
            pages = paginator.paginate(Bucket=self.bucket, Prefix=list_prefix)
            try:
                # S3 lists keys in lexical order, the order every store yields segments in.
                for page in pages:
                    for item in page.get("Contents", []):
                        key = SegmentKey.parse(item["Key"][len(self._object_key("")) :])
                        if key is not None and hour_overlaps(key.hour, since, until):
                            yield SegmentInfo(key, item["Size"])
            except Exception as exc:
                raise _s3_error(exc, self, "list") from None

    def _list_prefixes(self, since: datetime | None, until: datetime | None) -> list[str]:
        """One listing per day when the range is bounded and short, else one in all."""
        if since is None or until is None or until - since > timedelta(days=31):
            return [self._object_key("date=")]
        day = since.astimezone(UTC).date()
        last = (until - timedelta(microseconds=1)).astimezone(UTC).date()
        prefixes = []
        while day <= last:
            prefixes.append(self._object_key(f"date={day:%Y-%m-%d}/"))
            day += timedelta(days=1)
        return prefixes

    @contextlib.contextmanager
    def open_segment(self, key: SegmentKey) -> Iterator[IO[bytes]]:
        response = self._call(
            "read", self.client.get_object, Bucket=self.bucket, Key=self._object_key(key.name)
        )
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    @contextlib.contextmanager
    def create_segment(self, key: SegmentKey) -> Iterator[IO[bytes]]:
        with tempfile.TemporaryFile(prefix="parity-segment-") as spool:
            yield spool
            spool.flush()
            size = spool.seek(0, os.SEEK_END)
            spool.seek(0)
            self._upload(key, spool, size)

    def _upload(self, key: SegmentKey, spool: IO[bytes], size: int) -> None:
        object_key = self._object_key(key.name)
        if size <= _SINGLE_PUT_LIMIT:
            self._call(
                "write",
                self.client.put_object,
                Bucket=self.bucket,
                Key=object_key,
                Body=spool.read(),
                IfNoneMatch="*",
            )
            return
        upload = self._call(
            "write", self.client.create_multipart_upload, Bucket=self.bucket, Key=object_key
        )
        upload_id = upload["UploadId"]
        try:
            parts = []
            for number in range(1, (size + _PART_SIZE - 1) // _PART_SIZE + 1):
                part = self._call(
                    "write",
                    self.client.upload_part,
                    Bucket=self.bucket,
                    Key=object_key,
                    UploadId=upload_id,
                    PartNumber=number,
                    Body=spool.read(_PART_SIZE),
                )
                parts.append({"ETag": part["ETag"], "PartNumber": number})
            self._call(
                "write",
                self.client.complete_multipart_upload,
                Bucket=self.bucket,
                Key=object_key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfNoneMatch="*",
            )
        except BaseException:
            with contextlib.suppress(Exception):
                self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=object_key, UploadId=upload_id
                )
            raise


def _s3_error(exc: Exception, store: S3Store, action: str) -> StoreError:
    """One sentence for what went wrong talking to S3, and what to do about it."""
    from botocore.exceptions import (
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    where = store.url
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return StoreError(
            f"no AWS credentials were found for {where}; set AWS_PROFILE or "
            "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or run where a role is available"
        )
    if isinstance(exc, EndpointConnectionError):
        return StoreError(
            f"cannot reach the S3 endpoint for {where} ({exc}); check the network "
            "and the endpoint URL (AWS_ENDPOINT_URL_S3)"
        )
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        if code in {"NoSuchBucket", "404"}:
            return StoreError(
                f"S3 bucket {store.bucket!r} does not exist ({where}); create it or fix "
                "the bucket name"
            )
        if code in {
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "ExpiredToken",
            "InvalidToken",
            "AccessDenied",
            "403",
        }:
            return StoreError(
                f"S3 refused the credentials for {where} ({code}: {error.get('Message', '')}); "
                "check AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and that they "
                f"may {action} this bucket"
            )
        if code in {"PreconditionFailed", "412"}:
            return SegmentExistsError(
                f"a segment with that name already exists in {where}; use another "
                "recorder id or sequence number"
            )
        if code in {"NoSuchKey", "404"}:
            return StoreError(f"a segment listed in {where} is gone; list the store again")
        return StoreError(f"S3 could not {action} {where} ({code}: {error.get('Message', '')})")
    return StoreError(f"S3 could not {action} {where} ({type(exc).__name__}: {exc})")
