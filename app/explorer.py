"""``panel serve app/explorer.py``: the pairscope explorer, one app per browser session.

Served at ``/explorer``; with no ``PAIRSCOPE_CATALOG`` set it opens the demo catalog (built on first
use into ``$PAIRSCOPE_CACHE`` or ``~/.cache/pairscope``). Operator settings come from the
environment (``PAIRSCOPE_ALLOWED_CATALOGS``, ``PAIRSCOPE_TILES``).
"""

import os

from pairscope.ui import Settings, create_app
from pairscope.ui.app import prepare_pages, warm_up

settings = Settings.from_env(os.environ.get("PAIRSCOPE_CATALOG") or None)
warm_up(settings)  # once per server process: compiles the kernels, draws one view
prepare_pages()  # paint.js after BokehJS, and no WebGL bundle (no figure uses it)
create_app(settings).servable(title="pairscope explorer")
