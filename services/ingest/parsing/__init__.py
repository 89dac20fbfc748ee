"""Turn what editors and feeds send (page dumps, HTML pages) into articles."""

from services.ingest.parsing.chrome import NoArticleError
from services.ingest.parsing.html_page import parse_html
from services.ingest.parsing.page_dump import parse_page_dump

__all__ = ["NoArticleError", "parse_html", "parse_page_dump"]
