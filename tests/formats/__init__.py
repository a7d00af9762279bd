"""Tests of esctui.formats: PDF, IIIF, ALTO/PAGE XML, ZIP and kraken model files."""
