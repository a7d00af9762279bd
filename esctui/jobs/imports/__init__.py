"""Import jobs: local images, PDF pages, IIIF manifests and collections, ALTO/PAGE XML."""
