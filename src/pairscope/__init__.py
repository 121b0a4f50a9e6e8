"""pairscope: interactive Sentinel-1 coherence and differential phase from STAC catalogs."""

__version__ = "0.1.0"
