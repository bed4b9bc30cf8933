"""The website, API and certificate checks: one monitor per [[checks.urls]] entry
in erpwatch.toml (see "Website, API and certificate checks" in the README)."""

from erpwatch.websites import test_url

__all__ = ["test_url"]
