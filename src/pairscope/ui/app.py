# mypy: disable-error-code="no-untyped-call"
"""Build and serve the explorer: :func:`create_app` (one per browser session) and :func:`serve`."""

from __future__ import annotations

import contextlib
import gc
import logging
import pathlib
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from functools import cache, partial
from typing import Any, Generic, TypeVar

import panel as pn
import param

from pairscope.ui.backend import Backend, CoreBackend
from pairscope.ui.session_loop import (
    PullGate,
    batched,
    build_sessions_off_the_loop,
    hold_pull,
    install_early_start,
    page_starting,
    served,
    session_scheduler,
    when_connected,
)
from pairscope.ui.settings import Settings
from pairscope.ui.state import ExplorerState
from pairscope.ui.views import (
    DownloadsView,
    MapsView,
    MatrixView,
    NetworkView,
    PixelView,
    Sidebar,
    StatusView,
)
from pairscope.ui.views.learn import LearnView
from pairscope.ui.views.qa import QAView

ASSETS = pathlib.Path(__file__).resolve().parents[3] / "assets"
APP_PATH = "explorer"
#: BokehJS's visuals from their models, not from CSS read on every paint (`use_paint_script`).
PAINT_SCRIPT = pathlib.Path(__file__).parent / "static" / "paint.js"
#: The views a served page gets after its first maps, in this order.
SECONDARY = ("network", "matrix", "pixel")
_URL_PARAMS = (
    "catalog burst polarization manual_pairs pair_list pair window_azimuth window_range layer "
    "geometry bias_corrected"
).split()
CSS = """
.ps-empty { color: #666; font-style: italic; margin: 8px; }
.ps-title { margin: 0; }
"""

log = logging.getLogger("pairscope.ui")
_backends: dict[tuple[Any, ...], CoreBackend] = {}
_demo_lock = threading.Lock()


class DemoTruth:
    """The simulated truth of a demo catalog (:mod:`pairscope.sim.demo`), read once per catalog:
    what the Learn tab compares the estimate with. The backend gets it injected from here, the
    only UI module that imports the simulator."""

    def __init__(self) -> None:
        self._truths: dict[str, Any] = {}
        self._lock = threading.Lock()

    def __call__(self, location: str, reference: Any, secondary: Any, polarization: str,
                 burst_id: str | None = None) -> Any:
        from pairscope.sim.demo import open_truth, true_pair_coherence

        key = f"{location}#{burst_id or ''}"  # each burst of the demo has its own truth
        with self._lock:
            truth = self._truths.get(key)
        if truth is None:
            truth = open_truth(location, burst_id=burst_id)  # FileNotFoundError: not a demo
            with self._lock:
                self._truths[key] = truth
        return true_pair_coherence(truth, reference, secondary, polarization)


def make_backend(
    cache_bytes: int = 768 * 2**20, resolution: float = 20.0, *, policy: Any = None
) -> CoreBackend:
    """The real backend with the demo's truth wired in (and the server's location resolver)."""
    return CoreBackend(cache_bytes, resolution, truth=DemoTruth(), policy=policy)


def shared_backend(settings: Settings) -> CoreBackend:
    """One real backend per process (its cache is shared by every session: keys are plain)."""
    key = (settings.cache_bytes, settings.catalog, settings.allowed_catalogs, settings.demo_dir)
    with _demo_lock:
        backend = _backends.get(key)
        if backend is None:
            backend = _backends[key] = make_backend(settings.cache_bytes,
                                                    policy=settings.location_policy)
        return backend


def ensure_demo(settings: Settings, log: Callable[[str], None] | None = None) -> pathlib.Path:
    """The demo ``catalog.json``: built into ``settings.demo_dir`` on first use, then reused."""
    from pairscope.sim.demo import build_catalog

    if settings.demo_dir is None:
        raise ValueError("settings.demo_dir is not set: no place to build the demo catalog")
    root = settings.demo_dir / "catalog.json"
    with _demo_lock:
        if not root.is_file():
            if log:
                log(f"building the demo catalog ({settings.demo_size}) in {settings.demo_dir} ...")
            root = pathlib.Path(
                build_catalog(settings.demo_dir, seed=0, size=settings.demo_size)
            ).resolve()
    return root


_warmed = threading.Event()
_warm_lock = threading.Lock()


def warm_up(settings: Settings | None = None) -> None:
    """Compile the estimator's numba kernels once per process (several seconds), so the first
    visitor's maps draw as fast as everyone else's.

    With ``settings``, also draw the whole app once on the first pair of the default catalog
    (the real path: Bokeh models, the result cache, and the maps' resampling kernel for every
    array layout a pan or zoom meets); a failure there is reported and ignored, the server
    still starts.
    """
    with _warm_lock:
        if not _warmed.is_set():
            _warm_up()
            if settings is not None:
                try:
                    _warm_app(settings)
                except Exception as exc:  # noqa: BLE001 - warming up is best effort
                    print(f"pairscope: warm-up on the default catalog skipped ({exc})", flush=True)
            _warmed.set()


def _warm_app(settings: Settings) -> None:
    from pairscope.ui.backend import day

    backend = shared_backend(settings)
    location = default_catalog(settings)
    info = backend.open_catalog(location)
    burst = info.bursts[0].burst_id
    dates = backend.burst_dates(location, burst, "VV").dates
    query = {"burst": burst, "pairs": f"{day(dates[0])}_{day(dates[1])}"}
    app = create_app(settings, compute=backend, query=query)
    app.state.wait(300)
    pn.Column(app).get_root()
    app.maps.exercise_zoom()


def _warm_up() -> None:
    import numpy as np

    from pairscope import coherence

    rng = np.random.default_rng(0)
    shape = (32, 96)
    a, b = (
        (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(np.complex64)
        for _ in range(2)
    )
    coherence.estimate(a, b, (5, 21))  # compiles the estimator's kernels


def default_catalog(settings: Settings) -> str:
    return settings.catalog if settings.catalog else str(ensure_demo(settings))


def _session_query() -> dict[str, str]:
    args = getattr(pn.state, "session_args", None) or {}
    out = {}
    for key, values in args.items():
        if values:
            v = values[0]
            out[key] = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return out


V = TypeVar("V")


class _OnFirstUse(Generic[V]):
    """A view of the app built for its state when first read, then kept (in the instance's
    ``__dict__``, where :meth:`Explorer.built` looks). ``params``: the app's parameters the view
    also takes (by name)."""

    def __init__(self, cls: Callable[..., V], params: tuple[str, ...] = ()) -> None:
        self.cls = cls
        self.params = params

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, app: Any, owner: type | None = None) -> V:
        if app is None:  # read on the class (introspection)
            return self  # type: ignore[return-value]
        view = self.cls(state=app.state, **{name: getattr(app, name) for name in self.params})
        app.__dict__[self.name] = view
        return view


class Explorer(pn.viewable.Viewer):
    """The whole app for one session: sidebar + status + network, matrix, maps, pixel plot."""

    tiles = param.String(default=None, allow_None=True)
    progressive = param.Boolean(default=False, doc="""
        A served page of a shared view (its URL names a burst): the first document holds the
        first map alone; the second map, the sidebar and the downloads, then the secondary
        views are added in two steps once it has gone out (add_next_view).""")

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.status = StatusView(state=self.state)
        self.maps = MapsView(state=self.state, companion_later=self.progressive)
        # the second map, the sidebar and the downloads: on a progressive page built and added
        # by complete() after the first map, into slots that keep their width while empty
        # (adding them moves nothing); the network, matrix and pixel plots: added by complete()
        # in the next step, below the maps; QA and Learn: built when their tab is first shown
        self._side = pn.Column(width=340, css_classes=["ps-side"])
        self._downloads_slot = pn.Column(width=250)
        if not self.progressive:
            self._add_controls()
        self._rest = pn.Row(sizing_mode="stretch_width")
        self._qa_slot = pn.Column(sizing_mode="stretch_width")
        self._learn_slot = pn.Column(sizing_mode="stretch_width")
        self.completed = False

    # Built on first use: until then a view costs nothing (no figures, no watchers). Together they
    # were ~0.15 s of every served page's HTTP GET, for figures no visitor saw yet; the sidebar's
    # ~25 widgets ~0.1 s to build and ~0.2-0.3 s of Bokeh models, and the browser's building and
    # layout of them before it drew the maps.
    sidebar = _OnFirstUse(Sidebar, params=("tiles",))
    downloads = _OnFirstUse(DownloadsView, params=("maps",))
    network = _OnFirstUse(NetworkView)
    matrix = _OnFirstUse(MatrixView)
    pixel = _OnFirstUse(PixelView)
    qa = _OnFirstUse(QAView)
    learn = _OnFirstUse(LearnView)

    def built(self, name: str) -> bool:
        """Whether the view ``name`` (sidebar, downloads, network, matrix, pixel, qa, learn) has
        been built."""
        return name in self.__dict__

    def complete(self, *, tabs: bool = True) -> None:
        """Add the views a served page gets after its first maps: the sidebar and the downloads,
        the network, the matrix, the pixel plots and, with ``tabs``, the QA and Learn tabs'
        content. Built here, for the state as it is now (~0.2-0.3 s of widgets and figures on a
        quiet server, several times that on a busy one, and the browser's layout of them): sent
        with the first page, the maps of a shared URL waited for all of them. A served page
        gets QA and Learn when their tab is first shown."""
        while self.add_next_view():
            pass
        if tabs:
            self._show_tab(1)
            self._show_tab(2)

    def add_next_view(self) -> bool:
        """Build and add what is not on the page yet, one step per call: first the sidebar and
        the downloads, then the secondary views (network, matrix, pixel plots) together; True
        while more remains. A served page gets one step per tick of its loop (each ~0.1-0.3 s
        of widgets or figures on a quiet server), so another session's request waits for one
        step at most. The secondary views go in one change of the page: Bokeh walks the whole
        document's models after each change (~0.05-0.1 s a time here), and the browser lays
        the page out again after each."""
        if not self._side.objects:
            self._add_controls()
        elif not self._rest.objects:
            self._rest.objects = [getattr(self, name) for name in SECONDARY]
        self.completed = bool(self._side.objects) and bool(self._rest.objects)
        return not self.completed

    def _add_controls(self) -> None:
        """The second map, the sidebar and the downloads beside the maps, into their slots."""
        self.maps.show_companion()
        self._side.objects = [self.sidebar]
        self._downloads_slot.objects = [self.downloads]

    def _show_tab(self, index: int) -> None:
        """Put QA (1) or Learn (2) into its tab, once (added, never removed: Panel's detached
        panes would fetch their CSS from a CDN, see :meth:`_tabs`)."""
        slot, name = ((self._qa_slot, "qa"), (self._learn_slot, "learn"))[index - 1]
        if not slot.objects:
            slot.objects = [getattr(self, name)]  # built now, the other tab's view not

    def __panel__(self) -> pn.viewable.Viewable:
        header = pn.pane.Markdown(
            "## pairscope explorer: Sentinel-1 pairs, coherence, phase and look vectors",
            css_classes=["ps-title"], margin=(0, 10),
        )  # fmt: skip
        main = pn.Column(
            header,
            self.status,
            self._tabs(),
            sizing_mode="stretch_width",
        )
        return pn.Row(self._side, main, sizing_mode="stretch_width")

    def _tabs(self) -> pn.Tabs:
        """Explore (maps, network, matrix, pixel), QA and Learn; QA / Learn start their work
        when first shown, and a hidden one waits to be shown again before it recomputes.

        Not ``dynamic``: Panel detaches a hidden dynamic tab's models from the document, and an
        update of a detached Markdown/HTML pane rewrites the session's shared stylesheets
        (``loading.css``, ``alerts.css``, ``markdown.css``) to ``cdn.holoviz.org`` (Panel
        1.9: ``HTMLBasePane._update`` with ``model.document`` None falls back to its CDN), so
        the page would fetch Panel's CSS from the internet and lose it offline."""
        explore = pn.Column(
            pn.Row(self.maps, self._downloads_slot, sizing_mode="stretch_width"),
            self._rest,
            sizing_mode="stretch_width",
        )
        tabs = pn.Tabs(("Explore", explore), ("QA", self._qa_slot), ("Learn", self._learn_slot),
                       dynamic=False, sizing_mode="stretch_width", css_classes=["ps-tabs"])  # fmt: skip
        views = {1: "qa", 2: "learn"}

        def shown(event: Any) -> None:
            for index, name in views.items():
                if self.built(name):  # one never shown has nothing to hide
                    getattr(self, name).shown = index == event.new
            if event.new in views:
                self._show_tab(event.new)
                getattr(self, views[event.new]).activate()

        tabs.param.watch(shown, "active")
        return tabs


def create_app(
    settings: Settings | None = None,
    *,
    catalog: str | None = None,
    compute: Backend | None = None,
    query: Mapping[str, str] | None = None,
) -> Explorer:
    """The explorer for one browser session.

    ``settings``: the operator's settings (default: from the environment). ``catalog``: the
    default catalog location (default: ``settings.catalog``, else the demo, built on first use).
    ``compute``: the backend doing the work (default: the real core, shared cache); tests inject
    an instant fake for layout checks. ``query``: URL query values (default: the session's URL);
    when they name a burst, that view is computed with no click.
    """
    settings = settings or Settings.from_env()
    pn.extension(raw_css=[CSS], notifications=False)
    backend = compute if compute is not None else shared_backend(settings)
    location = catalog or default_catalog(settings)
    if catalog:
        settings = _with_allowed(settings, catalog)
    doc = pn.state.curdoc
    is_served = served(doc)
    state = ExplorerState(
        settings, backend, default_catalog=location, schedule=session_scheduler(doc) if is_served else None,
        client=_client_of(doc) if is_served else "local",
    )
    values = dict(query) if query is not None else (_session_query() if is_served else {})
    auto = state.apply_query(values)
    state.connect()
    # a shared URL (it names a burst, so its maps are drawn with no click) gets its maps first;
    # a page opened without one needs the sidebar to pick something, so gets it at once
    app = Explorer(state=state, tiles=settings.tiles, progressive=is_served and auto)
    if is_served:
        if settings.url_sync:
            _sync_url(state)
        pn.state.on_session_destroyed(lambda _ctx: state.cancel())
    if is_served:
        # no work for a plain HTTP GET: the first job starts when the browser has connected
        # (the page's first script sends the page's token, or the browser pulls the document
        # over its websocket), never on the request alone, and runs while the browser loads
        # and builds the page. What is already cached (pairs computed for an earlier visitor)
        # is drawn into the page now.
        page_starting(doc)  # until loaded, other pages' later views let it go first
        pending = not state.load_cached(compute=auto)
        gate = None
        if pending:
            # a shared URL's maps, when its job is quick, go in the document the browser pulls
            gate = hold_pull(doc, PULL_WAIT_S) if auto else None
            when_connected(doc, lambda: state.load(compute=auto))
        _complete_after_first_maps(app, doc, auto and pending, gate)
    else:
        app.complete()  # before the load: the views then follow its results as they come
        state.load(compute=auto)
    return app


#: A served page gets its secondary views at the latest this long after the browser connected.
COMPLETE_AFTER_S = 4.0
#: How often a served page's later views look again whether other visitors' pages still start.
YIELD_MS = 100
#: How often a served page whose visitor has left looks whether the browser came back.
LEFT_RECHECK_MS = 1000
#: How long the reply to a shared URL's pull waits for its job's first result (`hold_pull`).
#: Longer than the default demo's job (~0.2-0.3 s), about the browser's building of the page.
PULL_WAIT_S = 0.5


def _complete_after_first_maps(
    app: Explorer, doc: Any, auto: bool, gate: PullGate | None = None
) -> None:
    """Complete a served page once its first maps have gone out (``auto``: a result, or an error,
    of the job a shared URL starts, which may come before the page has loaded), else when it has
    loaded; at the latest :data:`COMPLETE_AFTER_S` after the page loaded. ``gate``: the held
    pull (`hold_pull`) opened by that first result or error when it comes before the reply;
    then the page is completed once loaded, as one whose maps were cached."""
    from pairscope.ui.session_loop import after_writes, left, others_starting, replied

    state = app.state
    watcher: list[Any] = []
    waiting: list[bool] = []  # its visitor left: said once

    def complete(force: bool = False) -> None:
        if watcher:
            state.param.unwatch(watcher.pop())
        if app.completed:
            return
        if left(doc):
            # its visitor has gone (a closed tab, a reload): nobody will see these views, and
            # building them (~0.5-1 s of the loop) would hold up the next page, such as the
            # reloaded one. Looked at again later: a browser that reconnects gets them then;
            # the session's destruction ends the wait
            if not waiting:
                waiting.append(True)
                shown = {k: v for k, v in state.query().items() if k in ("burst", "pairs", "window")}
                log.info("a page's later views wait: its visitor left (%s)",  # no catalog URL
                         urllib.parse.urlencode(shown, safe=",_:"))  # fmt: skip
            with contextlib.suppress(Exception):  # the session is destroyed: nothing to do
                doc.add_timeout_callback(partial(complete, force), LEFT_RECHECK_MS)
            return
        if not force and others_starting(doc):
            # another visitor's page is starting: each step holds the server's loop ~0.1-0.3 s,
            # which that page's JavaScript and document pull would wait for (visits back to
            # back); this page's maps are out, its later views wait (until the deadline below)
            doc.add_timeout_callback(complete, YIELD_MS)
            return
        with batched(doc):
            more = app.add_next_view()
        if more:  # the next one after this one's message has gone out (past the deadline too)
            after_writes(doc, partial(complete, force))

    def changed(event: Any) -> None:
        if event.name == "version" or event.new == "danger":
            if gate is not None and not replied(doc):
                gate.open()  # the reply carries it; the rest once the page has loaded
                return
            after_writes(doc, complete)

    if auto:
        watcher.append(state.param.watch(changed, ["version", "status_kind"]))

    def loaded() -> None:
        if not auto or (gate is not None and gate.opened):  # the maps came in the document
            after_writes(doc, complete)
        doc.add_timeout_callback(partial(complete, True), int(COMPLETE_AFTER_S * 1000))

    pn.state.onload(loaded)


def _client_of(doc: Any) -> str:
    """Who a session's jobs count against: its remote address (the session id when unknown)."""
    context = getattr(doc, "session_context", None)
    request = getattr(context, "request", None)
    address = getattr(request, "remote_ip", None) if request is not None else None
    return str(address or getattr(context, "id", "session"))


def _with_allowed(settings: Settings, catalog: str) -> Settings:
    import dataclasses

    if catalog in settings.allowed_catalogs or catalog == settings.catalog:
        return settings
    return dataclasses.replace(settings, allowed_catalogs=(*settings.allowed_catalogs, catalog))


def _sync_url(state: ExplorerState) -> None:
    """Keep the page URL equal to the selection, so a view can be shared and reloaded."""

    loaded: list[bool] = []

    def push(*_: Any) -> None:
        loc = pn.state.location
        if loc is None or not loaded:
            return
        search = "?" + urllib.parse.urlencode(state.query(), safe=",_:/")
        if loc.search != search:
            loc.search = search

    def on_load() -> None:
        loaded.append(True)
        push()  # changes made before the browser connected (canonical burst id...)

    # Not before the page has loaded: the browser's URL follows changes of the page's Location,
    # not the value in the document it pulls (a shared URL's first result may be applied before
    # the pull's reply, `session_loop.hold_pull`), so a search set earlier would never reach it.
    state.param.watch(push, _URL_PARAMS)
    pn.state.onload(on_load)


def prepare_pages() -> None:
    """What every page served from now on gets, for ``pairscope serve`` and
    ``panel serve app/explorer.py`` alike: `use_paint_script` and `leave_out_webgl`. Safe to call
    again (`panel serve` runs the app's script for every session)."""
    use_paint_script()
    leave_out_webgl()


def use_paint_script() -> None:
    """Make every page served from now on run ``static/paint.js`` right after BokehJS, before any
    document is drawn: BokehJS's visuals then take their models' values instead of reading CSS
    custom properties on every paint and layout pass (~1 s of opening the Learn tab here, ~0.3 s
    of a first pixel click). For ``pairscope serve`` and ``panel serve app/explorer.py`` alike.

    The script goes into the page itself as a ``data:`` URL (~2 kB): no route to publish, no
    request more per page, and the same under any server prefix."""
    pn.config.js_files = {**pn.config.js_files, "pairscope_paint": _paint_url()}


def leave_out_webgl() -> None:
    """Serve every page from now on without BokehJS's WebGL bundle (``bokeh-gl.min.js``, 194 kB
    of the page's ~3 MB of JavaScript), which a Bokeh server page always lists because it cannot
    know which plots a session will make. No figure of the explorer draws with WebGL (test_61
    checks a whole explorer's document as Bokeh does to pick the bundle). The browser then
    evaluates one script less before it can build the first document: a shared URL's map 0-0.19 s
    sooner in the medians of interleaved visits here (README, stop 33). The explorer's last
    WebGL figures went with HoloViews (stop 29). For ``pairscope serve`` and
    ``panel serve app/explorer.py`` alike."""
    import panel.io.server as pn_server

    if getattr(pn_server.server_html_page_for_session, "_pairscope_no_gl", False):
        return
    original = pn_server.server_html_page_for_session

    def server_html_page_for_session(session: Any, *args: Any, **kwargs: Any) -> str:
        if "resources" in kwargs:
            kwargs["resources"] = _without_webgl(kwargs["resources"])
        elif args:
            args = (_without_webgl(args[0]), *args[1:])
        return original(session, *args, **kwargs)

    server_html_page_for_session._pairscope_no_gl = True  # type: ignore[attr-defined]
    pn_server.server_html_page_for_session = server_html_page_for_session


def _without_webgl(resources: Any) -> Any:
    if resources is None or "bokeh-gl" not in getattr(resources, "components", ()):
        return resources
    resources = resources.clone()  # as Panel leaves out MathJax (`bundle_resources`)
    resources.components.remove("bokeh-gl")
    return resources


@cache
def _paint_url() -> str:
    """paint.js as a ``data:`` URL, encoded once per process (`panel serve` runs the app's
    script, and so `use_paint_script`, for every session)."""
    import base64

    return "data:text/javascript;base64," + base64.b64encode(PAINT_SCRIPT.read_bytes()).decode("ascii")


def _served_app(settings: Settings) -> Explorer:
    """A served session's explorer. Its document gets Panel's local stylesheet address first:
    Panel sets it when it renders a session's own HTML page, which a warm session (see `serve`)
    never has, so its components' stylesheets would point at Panel's CDN instead."""
    from panel.io.resources import LOCAL_DIST

    doc = pn.state.curdoc
    if doc is not None:
        rel = pn.state.rel_path
        doc.template_variables.setdefault("dist_url", f"{rel}/{LOCAL_DIST}" if rel else LOCAL_DIST)
    return create_app(settings)


def _held_session_key(request: Any) -> str:
    """Which held session's page a request gets (warm reuse, `serve`): one per path, whatever
    the query."""
    return str(request.path)


def _local_url(address: str, port: int) -> str:
    """The app's URL on this machine for a server listening on ``address`` (a wildcard: loopback)."""
    host = "127.0.0.1" if address in ("", "0.0.0.0", "::") else address
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"http://{host}:{port}/{APP_PATH}"


def _prime(url: str, timeout: float = 600.0) -> None:
    """Request ``url`` once the server answers: the session that request makes is the one whose
    HTML later requests get (`serve`), so no visitor's session is held for that."""
    import time
    import urllib.request

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - our own server
                response.read()
            return
        except OSError:
            time.sleep(0.05)


def serve(
    catalog: str | None = None,
    port: int = 5006,
    address: str = "127.0.0.1",
    allow_websocket_origin: list[str] | None = None,
    show: bool = False,
) -> int:
    """Serve the explorer at ``/explorer`` (the root redirects there) until interrupted."""
    settings = Settings.from_env(catalog)
    if catalog is None:
        ensure_demo(settings, log=lambda m: print(m, flush=True))
    warm_up(settings)
    # what warming up loaded (modules, compiled kernels, plot classes) lives as long as the
    # process: keep it out of the cyclic collector, which Panel runs on the event loop after every
    # closed session (a full collection of it took ~1-3 s, during which no session is served)
    gc.collect()
    gc.freeze()
    # Bokeh checks every new session's document for modelling mistakes (~0.07 s of each page's
    # HTTP response here); test_61 runs that check on the whole page instead
    from bokeh.settings import settings as bokeh_settings

    bokeh_settings.perform_document_validation.set_value(False)
    # A page's HTML does not depend on its session: Bokeh builds everything from the document the
    # browser pulls over the websocket. So each request gets the HTML of one held session at once,
    # and the visitor's own session is built right after the response, while the browser loads
    # and runs the JavaScript, instead of before it (Panel's "warm" session reuse; measured: the
    # HTTP response 0.3-0.4 -> 0.05-0.08 s, a shared URL's map ~0.1 s sooner). The held session
    # is a bare page requested by the server itself (`_prime`), never connected to.
    pn.config.reuse_sessions = "warm"
    # one held session per app path: Panel's default key also takes the URL's ``theme``, so every
    # new value would hold one more session for good (a visitor could fill the memory)
    pn.config.session_key_func = _held_session_key
    # and that build runs off the loop thread, which meanwhile sends the page's JavaScript
    build_sessions_off_the_loop()
    prepare_pages()
    # a page's first job starts when its browser runs the page's first script, ahead of the
    # page's JavaScript, instead of when it pulls the document (`session_loop.install_early_start`)
    start_route = install_early_start(APP_PATH)
    origins = list(allow_websocket_origin or [])
    if not origins:
        origins = [f"{address}:{port}", f"localhost:{port}", f"127.0.0.1:{port}"]
    print(f"pairscope explorer: http://{address}:{port}/{APP_PATH}", flush=True)
    threading.Thread(target=_prime, args=(_local_url(address, port),), daemon=True,
                     name="pairscope-prime").start()
    try:
        pn.serve(
            {APP_PATH: lambda: _served_app(settings)},
            port=port,
            address=address,
            websocket_origin=origins,
            show=show,
            title="pairscope explorer",
            verbose=False,
            extra_patterns=[start_route],
        )
    except KeyboardInterrupt:
        pass
    return 0
