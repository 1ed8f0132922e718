"""Nilai's statistical engine: pure numpy/pandas/scipy, no Django.

Modules: scoring, weighting, estimation, reliability, validity, trends, proxies, achievement,
sae (Fay-Herriot small areas), programmes (difference-in-differences and pooling by type).
Each returns frozen dataclasses; formulas follow ../shared/docs/METHODS.md.
"""

__version__ = "0.1.0"
