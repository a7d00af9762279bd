"""Pure file-format readers and writers: ALTO and PAGE XML, PDF, IIIF, ZIP, kraken model files.

No store, no network, no Textual; the layers above (net, store, jobs) use them.
"""
