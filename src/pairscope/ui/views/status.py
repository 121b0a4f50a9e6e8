# mypy: disable-error-code="no-untyped-call"
"""Status area: the last message (what happened, what to do) as plain text, a help link when
there is one, a progress bar and a cancel; and the page URL kept equal to the selection.

Messages often quote what a visitor typed or what a server answered: they are escaped and shown
as text, never rendered as HTML or Markdown.
"""

from __future__ import annotations

import html
import urllib.parse
from typing import Any

import panel as pn

from pairscope.ui.session_loop import served
from pairscope.ui.state import URL_PARAMS, ExplorerState

#: Background and text colour of each kind of message.
KINDS = {
    "info": ("#e7f1ff", "#084298"),
    "success": ("#d1e7dd", "#0f5132"),
    "warning": ("#fff3cd", "#664d03"),
    "danger": ("#f8d7da", "#842029"),
}


def status_html(text: str, kind: str, link: tuple[str, str] | None = None) -> str:
    """The message as escaped text in a coloured box, plus an optional help link."""
    bg, fg = KINDS.get(kind, KINDS["info"])
    body = html.escape(text or "Ready.")
    if link:
        label, url = link
        if urllib.parse.urlsplit(url).scheme in ("http", "https"):
            body += (f' <a class="ps-help" href="{html.escape(url, quote=True)}" target="_blank" '
                     f'rel="noopener noreferrer">{html.escape(label)}</a>')  # fmt: skip
    return (
        f'<div class="ps-msg ps-msg-{html.escape(kind)}" style="background:{bg};color:{fg};'
        'padding:8px 12px;border-radius:4px;white-space:pre-wrap;">'
        f"{body}</div>"
    )


def keep_url(state: ExplorerState) -> None:
    """Keep the page URL equal to :meth:`ExplorerState.query` whenever any parameter it reads
    changes (the rule, the limits, the view, the colormap, the pixel... as well as the pairs)."""
    if not getattr(state.settings, "url_sync", False):
        return
    doc = pn.state.curdoc
    if not served(doc):
        return

    def push(*_: Any) -> None:
        loc = pn.state.location
        if loc is None:
            return
        search = "?" + urllib.parse.urlencode(state.query(), safe=",_:/")
        if loc.search != search:
            loc.search = search

    state.param.watch(push, URL_PARAMS)


class StatusView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        state = self.state
        self._message = pn.pane.HTML(
            status_html(state.status, state.status_kind, state.status_link),
            sizing_mode="stretch_width", css_classes=["ps-status"], margin=(5, 5),
        )  # fmt: skip
        self._progress = pn.indicators.Progress(
            value=state.progress, max=100, sizing_mode="stretch_width", visible=state.busy,
            bar_color="primary", css_classes=["ps-progress"], height=14,
        )  # fmt: skip
        self._cancel = pn.widgets.Button(
            name="Cancel", button_type="warning", disabled=not state.busy, width=90,
            css_classes=["ps-cancel"],
        )  # fmt: skip
        self._cancel.on_click(lambda _e: state.cancel())
        state.param.watch(self._update, ["status", "status_kind", "status_link", "progress", "busy"])
        keep_url(state)

    def _update(self, *_: Any) -> None:
        state = self.state
        self._message.object = status_html(state.status, state.status_kind, state.status_link)
        self._progress.param.update(value=state.progress, visible=state.busy)
        self._cancel.disabled = not state.busy

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._message, pn.Row(self._progress, self._cancel, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )  # fmt: skip
