"""Routing as data, as in moto's services: EMR's URLs to the rehearsal's responses. moto
finds this module from the backend's (`RehearsalEmrBackend` in harness.emr.models)."""

from moto.emr.urls import url_bases

from harness.emr.responses import RehearsalEmrResponse

__all__ = ["url_bases", "url_paths"]

url_paths = {"{0}/$": RehearsalEmrResponse.dispatch}
