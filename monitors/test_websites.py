"""The website, API and certificate checks: one monitor per [[checks.urls]] entry
in erpwatch.toml, test_url[name] (see "Website, API and certificate checks" in the README)."""

from erpwatch import url_monitor as test_url

__all__ = ["test_url"]
