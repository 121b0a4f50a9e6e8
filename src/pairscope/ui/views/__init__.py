"""Panel views of the explorer; each reads from one :class:`~pairscope.ui.state.ExplorerState`."""

from pairscope.ui.views.downloads import DownloadsView, QADownloads
from pairscope.ui.views.maps import MapsView
from pairscope.ui.views.matrix import MatrixView
from pairscope.ui.views.network import NetworkView
from pairscope.ui.views.pixel import PixelView
from pairscope.ui.views.sidebar import Sidebar
from pairscope.ui.views.status import StatusView

__all__ = [
    "DownloadsView", "MapsView", "MatrixView", "NetworkView", "PixelView", "Sidebar", "QADownloads", "StatusView",
]  # fmt: skip
