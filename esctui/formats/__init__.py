"""Pure file-format readers and writers (ALTO, PAGE, PDF, IIIF, kraken model headers): no store, no Textual."""
