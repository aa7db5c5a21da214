"""``blissdata.h5api``: ``dynamic_hdf5`` is provided by blissdata-h5 when installed."""
