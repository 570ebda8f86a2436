"""The pages of one endpoint, as the source's ``pagination`` says, each as its list of records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from airflow_provider_chimera.sources.http.client import HttpClient, HttpRequestError
from airflow_provider_chimera.sources.http.options import LinkHeader, NextCursor, NoPages, OffsetLimit, PageNumbers


@dataclass(frozen=True)
class Page:
    number: int  # 1, 2, ... in the order read
    records: list[Any]


def dig(body: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``body`` ("" is the body); ``None`` where a key is missing."""
    for key in path.split(".") if path else []:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def records_of(body: Any, records_path: str, where: str) -> list[Any]:
    """The list of records at ``records_path``; a missing or ``null`` list is an empty page."""
    found = dig(body, records_path)
    if found is None:
        return []
    if not isinstance(found, list):
        at = f"records_path {records_path!r}" if records_path else "the response body"
        raise HttpRequestError(f"{where}: {at} holds {type(found).__name__}, not a list of records; set 'records_path'")
    return found


def pages(client: HttpClient, path: str, params: dict[str, str], records_path: str) -> Iterator[Page]:
    """Every page of ``path`` in order, at most ``max_pages`` of them."""
    pagination = client.options.pagination
    number = 0
    request: tuple[str, dict[str, str]] | None = (path, dict(params))
    page_index = pagination.first_page if isinstance(pagination, PageNumbers) else 0
    offset = 0
    seen_tokens: set[str] = set()
    while request is not None:
        number += 1
        if number > client.options.max_pages:
            raise HttpRequestError(f"{path}: more than {client.options.max_pages} pages; raise 'max_pages' if that is right")
        url, query = request
        if isinstance(pagination, PageNumbers):
            query = {**query, pagination.page_param: str(page_index)}
            if pagination.size_param:
                query[pagination.size_param] = str(pagination.page_size)
        elif isinstance(pagination, OffsetLimit):
            query = {**query, pagination.offset_param: str(offset), pagination.limit_param: str(pagination.limit)}
        response = client.get(url, query)
        try:
            body = response.json()
        except ValueError:
            raise HttpRequestError(f"{path} page {number}: the response is not JSON") from None
        records = records_of(body, records_path, f"{path} page {number}")
        yield Page(number, records)
        request = None
        if isinstance(pagination, PageNumbers):
            full = len(records) >= pagination.page_size if pagination.size_param else bool(records)
            if full:
                page_index += 1
                request = (path, params)
        elif isinstance(pagination, OffsetLimit):
            if len(records) >= pagination.limit:
                offset += len(records)
                request = (path, params)
        elif isinstance(pagination, NextCursor):
            token = dig(body, pagination.next_path)
            if token not in (None, ""):
                token = str(token)
                if token in seen_tokens:
                    raise HttpRequestError(f"{path} page {number}: the API sent a next cursor it sent before")
                seen_tokens.add(token)
                request = (path, {**params, pagination.cursor_param: token})
        elif isinstance(pagination, LinkHeader):
            following = response.links.get("next", {}).get("url")
            if following:
                following = str(response.url.join(following))
                if following in seen_tokens:
                    raise HttpRequestError(f"{path} page {number}: the API sent a next link it sent before")
                seen_tokens.add(following)
                request = (following, {})  # the next URL carries its query
        else:
            assert isinstance(pagination, NoPages)
