"""The allow-list resolver (``io.http.LocationPolicy``) against crafted catalogs on loopback.

A served app opens catalogs the way :func:`open_served` does: the visitor's location through
``Settings.check_catalog``, then ``open_catalog(..., policy=settings.location_policy)``. Crafted
documents under an allowed URL prefix point their child, item and asset links at local files, GDAL
``/vsicurl/`` paths, another loopback port (the ``outside`` listener of ``crafted_http``, which must
record nothing), and out of the prefix with dot segments (plain and percent-encoded). Local
catalogs may not leave their folder; files beside the configured catalog cannot be opened; no
message shows credentials or file contents; link cycles and deep JSON are format errors.
"""

from __future__ import annotations

import logging
import os
import pathlib
from typing import Any

import numpy as np
import pytest

from pairscope import errors as E
from pairscope.io import catalog as C
from pairscope.io import http as H
from pairscope.io import items as IT
from pairscope.io import rasters as R
from pairscope.ui.settings import CatalogRefused, Settings
from tests.plugins.crafted_http import (
    BURST,
    CraftedHTTP,
    catalog_doc,
    collection_doc,
    link,
    slc_item_doc,
    write_json,
)
from tests.plugins.stac_api import conformance

SECRET = "hunter2-do-not-show"
PASSWORD = "pw-hunter2"


@pytest.fixture
def served(crafted_http: CraftedHTTP, tmp_path: pathlib.Path) -> Settings:
    """A server that allows the crafted server's ``/stac`` prefix (and its demo folder)."""
    return Settings(
        allowed_catalogs=(crafted_http.url + "/stac",),
        tiles=None,
        demo_dir=tmp_path / "demo",
        url_sync=False,
    )


def open_served(settings: Settings, location: str, **kwargs: Any) -> C.StacCatalog:
    """What the served app does with a location a visitor asks for."""
    return C.open_catalog(
        settings.check_catalog(location), policy=settings.location_policy, retries=0, **kwargs
    )


@pytest.fixture
def elsewhere(tmp_path: pathlib.Path) -> pathlib.Path:
    """A valid local STAC catalog outside every allowed root, holding a secret: reading it would
    give its item (or its id in a message)."""
    folder = tmp_path / "elsewhere"
    write_json(folder / "item.json", slc_item_doc(SECRET, "./slc.tif"))
    return write_json(folder / "catalog.json", catalog_doc(SECRET, [link("item", "./item.json")]))


@pytest.fixture
def slc_tif(static_catalog: pathlib.Path) -> pathlib.Path:
    """A real 4-band SLC GeoTIFF (i, q, lat, lon) of the static test catalog."""
    return next((static_catalog.parent / "data").glob(f"slc_{BURST}_*.tif"))


def _escapes(crafted: CraftedHTTP, local: pathlib.Path) -> dict[str, str]:
    """Hrefs a document under ``/stac/<case>/`` may not follow, by name."""
    return {
        "etc-passwd": "file:///etc/passwd",
        "file-url": local.as_uri(),
        "absolute-path": str(local),
        "vsicurl": f"/vsicurl/{crafted.outside_url}/stac/catalog.json",
        "other-port": f"{crafted.outside_url}/stac/catalog.json",
        "dot-segments": f"{crafted.url}/stac/../other/catalog.json",
        "relative-dots": "../../other/catalog.json",
        "encoded-dots": f"{crafted.url}/stac/%2e%2e/other/catalog.json",
        "encoded-dots-upper": f"{crafted.url}/stac/%2E%2E/other/catalog.json",
        "half-encoded-dots": f"{crafted.url}/stac/.%2e/other/catalog.json",
        "double-encoded-dots": f"{crafted.url}/stac/%252e%252e/other/catalog.json",
    }


ESCAPES = list(_escapes(CraftedHTTP("http://h", "http://o"), pathlib.Path("/x")))


def _nothing_escaped(crafted: CraftedHTTP, message: str) -> None:
    assert crafted.outside == [], "a request reached the outside listener"
    assert not [r for r in crafted.requests if "/other/" in r or "%2e" in r.lower()], (
        crafted.requests
    )
    for leak in (SECRET, "root:x:0", "/bin/bash", PASSWORD):
        assert leak not in message


# -------------------------------------------------------------------- hole 2: links escape
@pytest.mark.parametrize("rel", ["child", "item"])
@pytest.mark.parametrize("case", ESCAPES)
def test_catalog_links_stay_inside_the_allow_list(
    crafted_http: CraftedHTTP, served: Settings, elsewhere: pathlib.Path, rel: str, case: str
) -> None:
    crafted_http.put("/other/catalog.json", catalog_doc("other"))  # what an escape would read
    href = _escapes(crafted_http, elsewhere)[case]
    url = crafted_http.put(f"/stac/{case}/catalog.json", catalog_doc(case, [link(rel, href)]))
    with pytest.raises(E.LocationRefusedError) as err:
        C.search_bursts(open_served(served, url))
    message = str(err.value)
    assert "refused" in message
    _nothing_escaped(crafted_http, message)
    if case in ("etc-passwd", "other-port", "vsicurl"):
        assert H.redact_url(href) in message  # the refusal names the location


@pytest.mark.parametrize("case", ESCAPES)
def test_asset_hrefs_stay_inside_the_allow_list(
    crafted_http: CraftedHTTP,
    served: Settings,
    elsewhere: pathlib.Path,
    slc_tif: pathlib.Path,
    case: str,
) -> None:
    """An asset that would hand GDAL a local file, a /vsicurl/ path, another port or a path out
    of the prefix is refused before GDAL sees it."""
    crafted_http.put("/other/slc.tif", slc_tif.read_bytes(), content_type="image/tiff")
    href = _escapes(crafted_http, elsewhere)[case].replace("catalog.json", "slc.tif")
    if case in ("file-url", "absolute-path"):
        href = href.replace(str(elsewhere.parent), str(slc_tif.parent))  # a real local raster
    crafted_http.put(f"/stac/{case}/item.json", slc_item_doc("item", href))
    url = crafted_http.put(
        f"/stac/{case}/catalog.json", catalog_doc(case, [link("item", "./item.json")])
    )
    with pytest.raises(E.LocationRefusedError) as err:
        R.open_slc_stack(open_served(served, url), BURST).compute()
    _nothing_escaped(crafted_http, str(err.value))


def test_allowed_links_and_assets_still_open(
    crafted_http: CraftedHTTP, served: Settings, slc_tif: pathlib.Path
) -> None:
    """The happy path under the policy: child, item and asset links inside the prefix (relative,
    with harmless dot segments, through a redirect that stays inside) are read."""
    crafted_http.put("/stac/good/data/slc.tif", slc_tif.read_bytes(), content_type="image/tiff")
    crafted_http.put("/stac/good/sub/item.json", slc_item_doc("good", "../data/./slc.tif"))
    crafted_http.put(
        "/stac/good/sub/collection.json",
        collection_doc("good", [link("item", "./item.json")]),
    )
    crafted_http.put(
        "/stac/good/catalog.json",
        catalog_doc("good", [link("child", "./x/../sub/collection.json")]),
    )
    url = crafted_http.redirect("/stac/good/old.json", crafted_http.url + "/stac/good/catalog.json")
    cat = open_served(served, url)
    assert [b.burst_id for b in C.search_bursts(cat)] == [BURST]
    stack = R.open_slc_stack(cat, BURST).compute()
    assert stack.shape[0] == 1 and np.isfinite(np.abs(stack.values)).all()
    assert crafted_http.outside == []


def test_local_catalog_under_the_policy(static_catalog: pathlib.Path) -> None:
    settings = Settings(catalog=str(static_catalog), tiles=None, demo_dir=None, url_sync=False)
    cat = open_served(settings, str(static_catalog))
    assert len(C.search_bursts(cat)) == 2
    stack = R.open_slc_stack(cat, BURST, ["2024-08-09"]).compute()
    assert np.isfinite(np.abs(stack.values)).all()


def test_redirect_out_of_the_allow_list_is_refused(
    crafted_http: CraftedHTTP, served: Settings
) -> None:
    crafted_http.put("/other/catalog.json", catalog_doc("other"))
    for name, target in (
        ("outside", crafted_http.outside_url + "/stac/catalog.json"),
        ("other", "/other/catalog.json"),
        ("file", "file:///etc/passwd"),
    ):
        url = crafted_http.redirect(f"/stac/redirect-{name}/catalog.json", target)
        with pytest.raises(E.LocationRefusedError) as err:
            open_served(served, url)
        _nothing_escaped(crafted_http, str(err.value))


def test_remote_catalog_never_reads_local_paths(
    crafted_http: CraftedHTTP, tmp_path: pathlib.Path, elsewhere: pathlib.Path
) -> None:
    """Even a local folder the operator allows is out of reach from a catalog opened by URL."""
    settings = Settings(
        allowed_catalogs=(crafted_http.url + "/stac", str(elsewhere.parent)),
        tiles=None,
        demo_dir=None,
    )
    url = crafted_http.put(
        "/stac/to-allowed-folder/catalog.json",
        catalog_doc("x", [link("child", elsewhere.as_uri())]),
    )
    with pytest.raises(E.LocationRefusedError, match="local path"):
        C.search_bursts(open_served(settings, url))
    assert open_served(settings, str(elsewhere)).kind == "static"  # allowed when opened itself


def test_api_search_link_to_another_host_is_refused(
    crafted_http: CraftedHTTP, served: Settings
) -> None:
    landing = catalog_doc(
        "api", [{**link("search", crafted_http.outside_url + "/search"), "method": "POST"}]
    )
    landing["conformsTo"] = conformance("ITEM_SEARCH")
    url = crafted_http.put("/stac/api", landing)
    cat = open_served(served, url)
    assert cat.kind == "api"
    with pytest.raises(E.LocationRefusedError):
        C.search_bursts(cat)
    assert crafted_http.outside == []


# -------------------------------------------------------------- hole 3: dot segments, typed
@pytest.mark.parametrize(
    "path",
    [
        "/stac/../other/catalog.json",
        "/stac/%2e%2e/other/catalog.json",
        "/stac/%2E%2e/other/catalog.json",
        "/stac/.%2e/other/catalog.json",
        "/stac/%2e%2e%2fother/catalog.json",
        "/stac/%252e%252e/other/catalog.json",
        "/stac/..%5cother/catalog.json",
        "/stac/sub/../../other/catalog.json",
        "/stac2/catalog.json",
    ],
)
def test_typed_dot_segments_do_not_pass_the_prefix(
    crafted_http: CraftedHTTP, served: Settings, path: str
) -> None:
    crafted_http.put("/other/catalog.json", catalog_doc("other"))
    with pytest.raises(CatalogRefused, match="not allowed"):
        served.check_catalog(crafted_http.url + path)
    with pytest.raises(E.LocationRefusedError):
        C.open_catalog(crafted_http.url + path, policy=served.location_policy)
    assert crafted_http.requests == []


def test_typed_locations_are_normalised(crafted_http: CraftedHTTP, served: Settings) -> None:
    base = crafted_http.url
    assert (
        served.check_catalog(f"{base}/stac/a/./b/../catalog.json") == f"{base}/stac/a/catalog.json"
    )
    assert (
        served.check_catalog(f"{base}/stac/a%20b/catalog.json") == f"{base}/stac/a%20b/catalog.json"
    )
    other_port = base.rsplit(":", 1)[0] + ":1"
    for bad in (
        f"{other_port}/stac/catalog.json",
        base.replace("http://", "https://") + "/stac/catalog.json",
        base.replace("127.0.0.1", "localhost") + "/stac/catalog.json",
        f"/vsicurl/{base}/stac/catalog.json",
        f"{base}/stac/catalog.json?token=typed-by-a-visitor",
    ):
        with pytest.raises(CatalogRefused) as err:
            served.check_catalog(bad)
        assert "typed-by-a-visitor" not in str(err.value)


def test_resolver_api(crafted_http: CraftedHTTP, tmp_path: pathlib.Path) -> None:
    base = crafted_http.url
    policy = H.LocationPolicy([base + "/stac", tmp_path / "cat"])
    doc = f"{base}/stac/a/catalog.json"
    assert policy.resolve("x.json", base=doc) == f"{base}/stac/a/x.json"
    assert policy.resolve("../b/x.json", base=doc) == f"{base}/stac/b/x.json"
    assert policy.resolve(f"{base}/stac/a/../c.json") == f"{base}/stac/c.json"
    assert policy.resolve(tmp_path / "cat" / "sub" / ".." / "x.json") == str(
        (tmp_path / "cat" / "x.json").resolve()
    )
    for bad, base_doc in (
        ("../../x.json", doc),
        ("//127.0.0.1:1/stac/x.json", doc),
        ("file:///etc/passwd", doc),
        ((tmp_path / "cat" / "x.json").as_uri(), doc),  # allowed root, but from a remote document
        ("s3://bucket/stac/x.json", doc),
        ("/vsicurl/" + doc, None),
        (str(tmp_path / "cat" / ".." / "x.json"), None),
        (f"http://user:{PASSWORD}@127.0.0.1/stac/x.json", None),
    ):
        with pytest.raises(E.LocationRefusedError) as err:
            policy.resolve(bad, base=base_doc)
        assert PASSWORD not in str(err.value)
    remote = policy.for_catalog(doc)
    with pytest.raises(E.LocationRefusedError, match="opened from a URL"):
        remote.resolve(tmp_path / "cat" / "x.json")
    assert policy.for_catalog(str(tmp_path / "cat" / "catalog.json")) is policy


def test_remove_dot_segments_rfc3986_examples() -> None:
    assert H.remove_dot_segments("/a/b/c/./../../g") == "/a/g"
    assert H.remove_dot_segments("mid/content=5/../6") == "mid/6"
    assert H.remove_dot_segments("/../../x") == "/x"
    assert H.remove_dot_segments("/a/b/..") == "/a/"
    assert H.remove_dot_segments("/a/./b/.") == "/a/b/"


# ------------------------------------------------- hole 4: files beside --catalog, echoes
@pytest.fixture
def local_catalog(tmp_path: pathlib.Path) -> pathlib.Path:
    """``served/catalog.json`` (one item, with a relative asset) with a ``.env`` and another JSON
    file beside it."""
    folder = tmp_path / "served"
    write_json(folder / "item.json", slc_item_doc("local", "./slc.tif"))
    (folder / ".env").write_text(f"STAC_TOKEN={SECRET}\n")
    write_json(folder / "notes.json", {"secret": SECRET})
    return write_json(folder / "catalog.json", catalog_doc("served", [link("item", "./item.json")]))


def test_files_beside_the_catalog_cannot_be_opened(local_catalog: pathlib.Path) -> None:
    settings = Settings(catalog=str(local_catalog), tiles=None, demo_dir=None)
    assert settings.check_catalog(str(local_catalog)) == str(local_catalog.resolve())
    for name in (".env", "notes.json", "item.json", "../served/.env", "missing.json"):
        with pytest.raises(CatalogRefused, match="not allowed") as err:
            settings.check_catalog(str(local_catalog.parent / name))
        assert SECRET not in str(err.value)
        with pytest.raises(E.LocationRefusedError) as err2:
            C.open_catalog(local_catalog.parent / name, policy=settings.location_policy)
        assert SECRET not in str(err2.value)


def test_errors_never_echo_file_contents(
    local_catalog: pathlib.Path, crafted_http: CraftedHTTP, served: Settings
) -> None:
    folder = local_catalog.parent
    # a file that is not JSON, opened directly (library use) or linked from the catalog
    with pytest.raises(E.CatalogFormatError, match="did not return valid JSON") as err:
        C.open_catalog(folder / ".env")
    assert SECRET not in str(err.value) and ".env" in str(err.value)
    write_json(folder / "catalog.json", catalog_doc("served", [link("child", "./.env")]))
    settings = Settings(catalog=str(local_catalog), tiles=None, demo_dir=None)
    with pytest.raises(E.CatalogFormatError) as err:
        C.search_bursts(open_served(settings, str(local_catalog)))
    assert SECRET not in str(err.value) and ".env" in str(err.value)
    # JSON that is not STAC
    with pytest.raises(E.CatalogFormatError, match="not a STAC") as err:
        C.open_catalog(folder / "notes.json")
    assert SECRET not in str(err.value)
    # remote: not JSON, not STAC, an error page
    for path, body, status in (
        ("/stac/text/catalog.json", f"<html>{SECRET}</html>", 200),
        ("/stac/json/catalog.json", {"type": "Catalog", "note": SECRET}, 200),
        ("/stac/list/catalog.json", f'["{SECRET}"]', 200),
        ("/stac/error/catalog.json", f"<html>{SECRET}</html>", 500),
    ):
        url = crafted_http.put(path, body, status=status)
        with pytest.raises(E.CatalogError) as err:
            open_served(served, url)
        assert SECRET not in str(err.value) and url in str(err.value)


def test_local_catalog_may_not_leave_its_folder(
    local_catalog: pathlib.Path, elsewhere: pathlib.Path, slc_tif: pathlib.Path
) -> None:
    folder = local_catalog.parent
    settings = Settings(catalog=str(local_catalog), tiles=None, demo_dir=None)
    (folder / "escape").symlink_to(elsewhere.parent, target_is_directory=True)
    rel = os.path.relpath(elsewhere, folder)
    for href in (rel, elsewhere.as_uri(), str(elsewhere), "./escape/catalog.json",
                 "file:///etc/passwd", "/vsicurl/http://127.0.0.1:1/catalog.json"):  # fmt: skip
        write_json(folder / "catalog.json", catalog_doc("served", [link("child", href)]))
        with pytest.raises(E.LocationRefusedError) as err:
            C.search_bursts(open_served(settings, str(local_catalog)))
        assert SECRET not in str(err.value)
    # an asset outside the folder (a real raster) is not handed to GDAL
    write_json(folder / "item.json", slc_item_doc("local", str(slc_tif)))
    write_json(folder / "catalog.json", catalog_doc("served", [link("item", "./item.json")]))
    cat = open_served(settings, str(local_catalog))
    with pytest.raises(E.LocationRefusedError):
        R.open_slc_stack(cat, BURST)
    # ... and the same raster inside the folder is
    (folder / "slc.tif").write_bytes(slc_tif.read_bytes())
    write_json(folder / "item.json", slc_item_doc("local", "./slc.tif"))
    stack = R.open_slc_stack(open_served(settings, str(local_catalog)), BURST)
    assert np.isfinite(np.abs(stack.values)).all()


# --------------------------------------------------------------------- hole 5: credentials
def test_userinfo_is_never_shown_nor_replaces_the_token(
    crafted_http: CraftedHTTP,
    served: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "bearer-t0ken-" + "y" * 8
    monkeypatch.setenv(H.TOKEN_ENV, token)
    good = crafted_http.put("/stac/auth/catalog.json", catalog_doc("auth"))
    with_user = good.replace("http://", f"http://user:{PASSWORD}@")
    shown: list[str] = []
    # the operator's own configuration: refused when the server starts
    with pytest.raises(E.LocationRefusedError, match="user or password") as err:
        Settings(catalog=with_user, tiles=None)
    shown.append(str(err.value))
    with pytest.raises(E.LocationRefusedError):
        Settings(allowed_catalogs=(with_user,), tiles=None)
    # typed by a visitor
    with pytest.raises(CatalogRefused, match="not allowed") as err2:
        served.check_catalog(with_user)
    shown.append(str(err2.value))
    # library use: refused before any request, so no Basic auth is ever sent
    with pytest.raises(E.LocationRefusedError, match="user name or password") as err3:
        C.open_catalog(with_user, retries=0)
    shown.append(str(err3.value))
    assert crafted_http.requests == []
    # a link that carries credentials, inside an allowed document
    url = crafted_http.put(
        "/stac/userlink/catalog.json",
        catalog_doc("userlink", [link("child", with_user)]),
    )
    with pytest.raises(E.LocationRefusedError) as err4:
        C.search_bursts(open_served(served, url))
    shown.append(str(err4.value))
    assert all("Basic" not in h.get("Authorization", "") for h in crafted_http.headers), (
        crafted_http.headers
    )
    # the token still goes, as a bearer token, to the catalog's host
    cat = open_served(served, good)
    assert crafted_http.headers[-1]["Authorization"] == f"Bearer {token}"
    shown += [repr(cat), cat.url, caplog.text, *served.describe_allowed()]
    text = " ".join(shown)
    assert PASSWORD not in text and "@127.0.0.1" not in text and token not in text


def test_redact_url_is_the_one_redaction() -> None:
    assert H.redact_url("https://u:pw@127.0.0.1:8443/p?token=abc&x=1") == (
        "https://127.0.0.1:8443/p?token=***&x=1"
    )
    assert H.redact_url(
        "https://127.0.0.1:9/p?X-Amz-Signature=abc&Sig=def&a=1#access_token=x"
    ) == ("https://127.0.0.1:9/p?X-Amz-Signature=***&Sig=***&a=1#access_token=***")
    assert (
        H.redact_url("https://u:pw@127.0.0.1:notaport/p") == "https://127.0.0.1:notaport/p"
    )
    assert H.redact_url("/local/path.json") == "/local/path.json"
    assert not H.has_userinfo("https://127.0.0.1:9/a@b")
    assert H.has_userinfo("https://u@127.0.0.1:9/")


# ------------------------------------------------------------------- hole 9: cycles, depth
def test_self_link_and_cycles_are_format_errors(
    tmp_path: pathlib.Path, crafted_http: CraftedHTTP, served: Settings
) -> None:
    # local, library use
    me = write_json(
        tmp_path / "self" / "catalog.json", catalog_doc("self", [link("child", "./catalog.json")])
    )
    with pytest.raises(E.CatalogFormatError, match="cycle"):
        C.search_bursts(C.open_catalog(me))
    a = tmp_path / "ab" / "a" / "catalog.json"
    write_json(a, catalog_doc("a", [link("child", "../b/collection.json")]))
    write_json(tmp_path / "ab" / "b" / "collection.json",
               collection_doc("b", [link("child", "../a/catalog.json")]))  # fmt: skip
    with pytest.raises(E.CatalogFormatError, match="cycle"):
        C.search_bursts(C.open_catalog(a))
    # remote, served
    crafted_http.put("/stac/self/catalog.json", catalog_doc("s", [link("child", "./catalog.json")]))
    crafted_http.put("/stac/a/catalog.json", catalog_doc("a", [link("child", "../b/catalog.json")]))
    crafted_http.put("/stac/b/catalog.json", catalog_doc("b", [link("child", "../a/catalog.json")]))
    for path in ("/stac/self/catalog.json", "/stac/a/catalog.json"):
        with pytest.raises(E.CatalogFormatError, match="cycle"):
            C.search_bursts(open_served(served, crafted_http.url + path))


def test_deep_nesting_is_a_format_error(
    tmp_path: pathlib.Path, crafted_http: CraftedHTTP, served: Settings
) -> None:
    deep = '{"type": "Catalog", "id": "deep", "x": ' + "[" * 10_000 + "]" * 10_000 + "}"
    (tmp_path / "deep.json").write_text(deep)
    with pytest.raises(E.CatalogFormatError, match="deeper than"):
        C.open_catalog(tmp_path / "deep.json")
    url = crafted_http.put("/stac/deep/catalog.json", deep)
    with pytest.raises(E.CatalogFormatError, match="deeper than"):
        open_served(served, url)
    # the same document as a child of a good one
    crafted_http.put("/stac/parent/deep.json", deep)
    url = crafted_http.put(
        "/stac/parent/catalog.json", catalog_doc("p", [link("child", "./deep.json")])
    )
    with pytest.raises(E.CatalogFormatError, match="deeper than"):
        C.search_bursts(open_served(served, url))
    # JSON just under the parser's recursion limit, and a long chain of catalogs
    (tmp_path / "d500.json").write_text('{"x": ' + "[" * 500 + "]" * 500 + "}")
    with pytest.raises(E.CatalogFormatError, match="deeper than"):
        C.open_catalog(tmp_path / "d500.json")
    chain = tmp_path / "chain"
    for i in range(C.MAX_LINK_DEPTH + 5):
        write_json(chain / f"c{i}.json", catalog_doc(f"c{i}", [link("child", f"./c{i + 1}.json")]))
    write_json(chain / f"c{C.MAX_LINK_DEPTH + 5}.json", catalog_doc("end"))
    with pytest.raises(E.CatalogFormatError, match="deeper than"):
        C.search_bursts(C.open_catalog(chain / "c0.json"))


def test_api_pages_that_loop_are_a_format_error(
    crafted_http: CraftedHTTP, served: Settings
) -> None:
    base = crafted_http.url + "/stac/api"
    landing = catalog_doc("api", [{**link("search", base + "/search"), "method": "POST"}])
    landing["conformsTo"] = conformance("ITEM_SEARCH")
    crafted_http.put("/stac/api", landing)
    page = {
        "type": "FeatureCollection",
        "features": [slc_item_doc("loop", base + "/slc.tif")],
        "links": [{"rel": "next", "href": base + "/search?page=2", "method": "GET"}],
    }
    crafted_http.put("/stac/api/search", page, content_type="application/geo+json")
    cat = open_served(served, base)
    with pytest.raises(E.CatalogFormatError, match="loop"):
        C.list_acquisitions(cat, BURST)
    assert len(crafted_http.requests) < 10


@pytest.mark.parametrize("kind", ["item", "feature-collection"])
def test_item_documents_follow_their_links_through_the_policy(
    crafted_http: CraftedHTTP, served: Settings, kind: str
) -> None:
    """An item (or a FeatureCollection of items) opened as the catalog: its ``root`` and
    ``collection`` links are read through the policy too, not by pystac's default reader."""
    item = slc_item_doc("single", "./slc.tif")
    item["links"] = [
        link("root", crafted_http.outside_url + "/catalog.json"),
        link("collection", crafted_http.outside_url + "/collection.json"),
    ]
    doc = item if kind == "item" else {"type": "FeatureCollection", "features": [item]}
    url = crafted_http.put(f"/stac/{kind}/doc.json", doc)
    cat = open_served(served, url)
    for it in cat.search_items():
        assert IT.collection_of(it) is None  # refused: treated as "no collection"
        root = it.get_root()
        assert root is None or root.id != "outside"
    assert [b.burst_id for b in C.search_bursts(cat)] == [BURST]
    assert crafted_http.outside == []


def test_http_send_is_checked_for_range_readers(
    crafted_http: CraftedHTTP, served: Settings, slc_tif: pathlib.Path
) -> None:
    """``Http.send`` (for readers that need the response itself, e.g. HDF5 byte ranges) applies
    the policy to the location and to every redirect, like ``Http.request``."""
    data = slc_tif.read_bytes()
    good = crafted_http.put("/stac/files/slc.tif", data, content_type="image/tiff")
    away = crafted_http.redirect("/stac/files/away.tif", crafted_http.outside_url + "/slc.tif")
    cat = open_served(served, crafted_http.put("/stac/files/catalog.json", catalog_doc("f")))
    with cat.http.send(good, headers={"Range": "bytes=0-15"}) as resp:
        assert resp.status_code == 206 and resp.content == data[:16]
    for bad in (away, crafted_http.outside_url + "/slc.tif", f"{crafted_http.url}/stac/../x"):
        with pytest.raises(E.LocationRefusedError):
            cat.http.send(bad, headers={"Range": "bytes=0-15"})
    assert crafted_http.outside == []
