"""``blissdata-h5 serve``: h5grove's HTTP API and H5Web's page over :class:`blissdata_h5.File`.

Live scans (from Redis) and saved files are served with one URL scheme; the
optional ``[web]`` extra brings h5grove (whose encoders and handlers are
reused) and tornado (h5grove's server framework).
"""
