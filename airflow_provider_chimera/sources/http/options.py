"""What an intent may say about an HTTP source (``options``) and each of its objects.

Credentials never appear here: they come from the source's connection (the Airflow connection's
login and password, or the ``user:${secret:NAME}`` of its URI); ``auth`` only says how to send them.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Headers that carry credentials: set through ``auth`` and the connection, never in an intent.
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
ParamName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.\-\[\]]+$")]
HeaderName = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9\-]+$")]
RecordsPath = Annotated[str, Field(max_length=256, pattern=r"^$|^[A-Za-z0-9_\-]+(\.[A-Za-z0-9_\-]+)*$")]
PageSize = Annotated[int, Field(ge=1, le=10_000)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoAuth(_Options):
    type: Literal["none"]


class BearerAuth(_Options):
    """``Authorization: Bearer <password of the connection>``."""

    type: Literal["bearer"]


class BasicAuth(_Options):
    """HTTP basic authentication with the connection's login and password."""

    type: Literal["basic"]


class ApiKeyAuth(_Options):
    """The connection's password as an API key: in the header ``header`` or the query parameter ``query``."""

    type: Literal["api_key"]
    header: HeaderName | None = None
    query: ParamName | None = None

    @model_validator(mode="after")
    def _one_place(self) -> ApiKeyAuth:
        if (self.header is None) == (self.query is None):
            raise ValueError("give exactly one of 'header' or 'query' for the API key")
        if self.header is not None and self.header.lower() in CREDENTIAL_HEADERS - {"authorization"}:
            raise ValueError(f"header {self.header!r} cannot carry an API key")
        return self


Auth = Annotated[Union[NoAuth, BearerAuth, BasicAuth, ApiKeyAuth], Field(discriminator="type")]


class NoPages(_Options):
    """One request answers with every record."""

    type: Literal["none"]


class PageNumbers(_Options):
    """``?page=1&per_page=100``, then page 2...; ends at a page with fewer than ``page_size`` records."""

    type: Literal["page"]
    page_param: ParamName = "page"
    size_param: ParamName | None = "per_page"
    page_size: PageSize = 100
    first_page: int = Field(default=1, ge=0)


class OffsetLimit(_Options):
    """``?offset=0&limit=100``, then offset 100...; ends at a page with fewer than ``limit`` records."""

    type: Literal["offset"]
    offset_param: ParamName = "offset"
    limit_param: ParamName = "limit"
    limit: PageSize = 100


class NextCursor(_Options):
    """The body names the next page's token at ``next_path``; sent back as ``cursor_param``; ends when absent or empty."""

    type: Literal["cursor"]
    cursor_param: ParamName = "cursor"
    next_path: RecordsPath = "next"


class LinkHeader(_Options):
    """RFC 5988 ``Link: <...>; rel="next"`` headers, followed on the same origin only."""

    type: Literal["link"]


Pagination = Annotated[Union[NoPages, PageNumbers, OffsetLimit, NextCursor, LinkHeader], Field(discriminator="type")]


class HttpOptions(_Options):
    """An HTTP source's ``options``. The connection gives the base URL (``https://api.example.com/v1``)."""

    auth: Auth = NoAuth(type="none")
    pagination: Pagination = NoPages(type="none")
    # Where the list of records is in each response body: dotted keys; "" when the body is the list.
    records_path: RecordsPath = ""
    # The query parameter that carries the last cursor value an incremental read reached.
    incremental_param: ParamName | None = None
    params: dict[ParamName, str] = Field(default_factory=dict)
    headers: dict[HeaderName, str] = Field(default_factory=dict)
    # The path requested by a connection test (relative to the base URL).
    probe_path: str = Field(default="", max_length=1024)
    timeout_s: float = Field(default=30, gt=0, le=300)
    # 429, 503 and other 5xx answers, and network errors, are retried up to max_retries times,
    # each wait being the server's Retry-After or an exponential backoff, at most max_wait_s.
    max_retries: int = Field(default=5, ge=0, le=10)
    max_wait_s: float = Field(default=60, ge=0, le=600)
    max_pages: int = Field(default=100_000, ge=1, le=10_000_000)

    @field_validator("headers")
    @classmethod
    def _no_credentials(cls, headers: dict[str, str]) -> dict[str, str]:
        named = sorted(name for name in headers if name.lower() in CREDENTIAL_HEADERS)
        if named:
            raise ValueError(f"header {named[0]!r} carries credentials: use 'auth' and the source's connection")
        return headers


class HttpObjectOptions(_Options):
    """An HTTP object's ``options`` (its ``path`` is the endpoint, relative to the base URL)."""

    records_path: RecordsPath | None = None  # default: the source's
    params: dict[ParamName, str] = Field(default_factory=dict)  # added to the source's
