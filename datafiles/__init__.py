"""File formats and codecs with no Django: SPSS/Stata/XLSX writers, the answers codec, CSV safety,
the k-anonymity planner. Imports numpy, pandas and the standard library only (tested).
"""
