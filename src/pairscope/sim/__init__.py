"""The embedded default: a simulated Sentinel-1 burst stack published as a static STAC catalog.

- :mod:`pairscope.sim.landcover`: the scattering model (land-cover classes and their coherence);
- :mod:`pairscope.sim.simulate`: the scene simulator (orbit tube, terrain, SLCs with known truth);
- :mod:`pairscope.sim.demo`: ``pairscope demo build`` (SLC, orbit, product collections);
- :mod:`pairscope.sim.ard`: the demo's CEOS-ARD GSLC and NRB collections.

Only ``pairscope.cli`` and ``pairscope.ui.app`` import this package.
"""
