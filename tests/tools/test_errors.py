from __future__ import annotations

import pytest

import tools.errors as errors
from tools.errors import (
    AuthExpired,
    IntegrationError,
    InvalidRequest,
    NotFound,
    RateLimited,
    SyncMutationDuringPagination,
    UpstreamError,
)


@pytest.mark.parametrize("cls", [AuthExpired, RateLimited, NotFound, UpstreamError, InvalidRequest])
def test_every_error_is_an_integration_error_and_named_in_the_tree(cls: type[IntegrationError]) -> None:
    assert issubclass(cls, IntegrationError)
    assert cls.__name__ in (errors.__doc__ or "")


def test_a_sync_mutation_is_an_invalid_request_distinguishable_by_class() -> None:
    error = SyncMutationDuringPagination("restart", integration="plaid", code="X")
    assert isinstance(error, InvalidRequest)
    assert not isinstance(InvalidRequest("other"), SyncMutationDuringPagination)


def test_rate_limited_carries_retry_after_and_context() -> None:
    error = RateLimited("slow down", retry_after=3.5, integration="gmail", status=429, code="rateLimitExceeded")
    assert (error.retry_after, error.integration, error.status, error.code) == (3.5, "gmail", 429, "rateLimitExceeded")
    assert str(error) == "slow down" and error.display_message is None
