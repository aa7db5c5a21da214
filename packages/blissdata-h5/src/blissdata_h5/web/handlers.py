"""h5grove's tornado handlers, fed by :class:`~blissdata_h5.web.service.Service` instead of h5py.

Each handler keeps h5grove's query parsing, encoding and error format (its
``get_content_response`` and ``write_error``); only where the content comes
from changes.  The page (``/``) and the file list (``/files/``) are ours.
"""

from __future__ import annotations

import os
from typing import Any

from h5grove import tornado_utils as grove
from h5grove.encoders import Response, encode
from tornado.web import RequestHandler, StaticFileHandler

from .service import Service

STATIC_DIR = os.path.join(os.path.dirname(__file__), "static")


class _FromService(grove.BaseHandler):
    def initialize(self, service: Service, allow_origin: str | None = None) -> None:
        self.service = service
        self.allow_origin = allow_origin

    def get(self) -> None:
        relative = self.get_query_argument("file")
        path = self.get_query_argument("path", None, strip=False)
        full_path = self.service.locate(relative, grove.create_error)
        response = self.get_response(
            full_path, path, self.get_query_argument("resolve_links", None)
        )
        _send(self, response)


class _ContentFromService(_FromService):
    def get_response(
        self, full_file_path: str, path: str | None, resolve_links: str | None
    ) -> Response:
        with self.service.content(
            full_file_path, path, resolve_links, grove.create_error
        ) as content:
            return self.get_content_response(content)


class AttributeHandler(_ContentFromService, grove.AttributeHandler):
    """``/attr/``"""


class DataHandler(_ContentFromService, grove.DataHandler):
    """``/data/``"""


class MetadataHandler(_ContentFromService, grove.MetadataHandler):
    """``/meta/``"""


class StatisticsHandler(_ContentFromService, grove.StatisticsHandler):
    """``/stats/``"""


class PathsHandler(_FromService, grove.PathsHandler):
    """``/paths/``"""

    def get_response(
        self, full_file_path: str, path: str | None, resolve_links: str | None
    ) -> Response:
        return encode(self.service.paths(full_file_path, path, resolve_links, grove.create_error))


class FilesHandler(_FromService):
    """``/files/``: the files under the roots and those live scans write (for the page)."""

    def get(self) -> None:
        _send(self, encode(self.service.listing()))


class VersionHandler(_FromService):
    """``/version/?file=``: a token that changes when the file's content may have (the page polls it)."""

    def get(self) -> None:
        full_path = self.service.locate(self.get_query_argument("file"), grove.create_error)
        _send(self, encode({"version": self.service.version(full_path)}))


class PageHandler(RequestHandler):
    """``/``: H5Web's page (``?file=`` picks the file); HEAD answers h5grove's status check."""

    def get(self) -> None:
        index = os.path.join(STATIC_DIR, "index.html")
        if not os.path.exists(index):
            self.finish("ok")  # page not built: h5grove's status answer
            return
        with open(index, "rb") as page:
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(page.read())

    def head(self) -> None:
        self.finish()


def _send(handler: RequestHandler, response: Response) -> None:
    for key, value in response.headers.items():
        handler.set_header(key, value)
    handler.set_header("Cache-Control", "no-store")  # live data: always ask again
    handler.finish(response.content)


def handlers(service: Service, allow_origin: str | None = None) -> list[tuple[str, Any, dict]]:
    args = {"service": service, "allow_origin": allow_origin}
    return [
        (r"/", PageHandler),
        (r"/assets/(.*)", StaticFileHandler, {"path": os.path.join(STATIC_DIR, "assets")}),
        (r"/attr/?", AttributeHandler, args),
        (r"/data/?", DataHandler, args),
        (r"/meta/?", MetadataHandler, args),
        (r"/paths/?", PathsHandler, args),
        (r"/stats/?", StatisticsHandler, args),
        (r"/files/?", FilesHandler, args),
        (r"/version/?", VersionHandler, args),
    ]
