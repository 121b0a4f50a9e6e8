"""Every byte pairscope reads or writes.

- :mod:`pairscope.io.http`: HTTP with auth (tokens only to named hosts), redaction, retries;
- :mod:`pairscope.io.catalog`: opening STAC APIs and static catalogs, burst and acquisition search;
- :mod:`pairscope.io.items`: what an item holds (layouts, burst ids, polarizations, assets);
- :mod:`pairscope.io.filters`: client-side filters (datetime, bbox, CQL2 construction);
- :mod:`pairscope.io.rasters`: lazy SLC stacks and published products;
- :mod:`pairscope.io.orbits`: orbits from EOF / annotation / OPERA HDF5 assets;
- :mod:`pairscope.io.ard`: CEOS-ARD GSLC / NRB readers;
- :mod:`pairscope.io.export`: COG + STAC writing, CSV, PNG, offline validation.

Imports point down only: ``io`` uses the numerics and ``geometry``, never ``pipeline``, ``sim`` or
``ui``.
"""
