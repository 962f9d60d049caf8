"""Our S3 request signing (AWS Signature Version 4) matches botocore's, byte for byte."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from unittest import mock

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials

from aegis.offsite.s3 import Credentials, sign_v4
from aegis.secrets import Secret

NOW = datetime(2026, 12, 2, 16, 5, 9, tzinfo=UTC)
KEY_ID, SECRET = "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def _botocore(method: str, url: str, body: bytes) -> str:
    request = AWSRequest(method=method, url=url, data=body)
    request.headers["x-amz-content-sha256"] = hashlib.sha256(body).hexdigest()
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW.replace(tzinfo=None)):
        S3SigV4Auth(BotoCredentials(KEY_ID, SECRET), "s3", "eu-central-1").add_auth(request)
    return str(request.headers["Authorization"])


@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        ("PUT", "http://127.0.0.1:9000/aegis-offsite/aegis/aegis-20261202T160509Z.tar.age", b"age-encryption.org/v1"),
        ("GET", "http://127.0.0.1:9000/aegis-offsite?list-type=2&prefix=aegis%2F", b""),
        ("DELETE", "http://minio.example.org/b/aegis/a%20b.manifest.json", b""),
    ],
)
def test_the_signature_is_the_one_botocore_computes(method: str, url: str, body: bytes) -> None:
    ours = sign_v4(
        method,
        url,
        {},
        hashlib.sha256(body).hexdigest(),
        Credentials(Secret("id", KEY_ID), Secret("secret", SECRET)),
        "eu-central-1",
        NOW,
    )
    assert ours["Authorization"] == _botocore(method, url, body)
    assert ours["x-amz-date"] == "20261202T160509Z"
