"""Page-number pagination for the JSON API, with the page number bounded.

Ninja's ``page`` is any integer ≥ 1; a page beyond a 64-bit offset makes the database fail
(SQLite "datatype mismatch", PostgreSQL "bigint out of range"). ``MAX_PAGE`` is far past
any real list, so a client sees a 422 naming ``page`` instead of a 500.
"""

from ninja import Field, Schema
from ninja.pagination import PageNumberPagination as NinjaPageNumberPagination

MAX_PAGE = 1_000_000


class PageNumberPagination(NinjaPageNumberPagination):
    """``?page=1&page_size=50`` (page at most ``MAX_PAGE``); ``{"items": [...], "count": N}``."""

    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1)
