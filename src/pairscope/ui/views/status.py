# mypy: disable-error-code="no-untyped-call"
"""Status area: the last message (what happened, what to do), a progress bar and a cancel."""

from __future__ import annotations

from typing import Any

import panel as pn

from pairscope.ui.state import ExplorerState


class StatusView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        state = self.state
        self._alert = pn.pane.Alert(
            state.status or "Ready.", alert_type=state.status_kind, sizing_mode="stretch_width",
            css_classes=["ps-status"], margin=(5, 5),
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
        state.param.watch(self._update, ["status", "status_kind", "progress", "busy"])

    def _update(self, *_: Any) -> None:
        state = self.state
        self._alert.param.update(object=state.status or "Ready.", alert_type=state.status_kind)
        self._progress.param.update(value=state.progress, visible=state.busy)
        self._cancel.disabled = not state.busy

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            self._alert, pn.Row(self._progress, self._cancel, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )  # fmt: skip
