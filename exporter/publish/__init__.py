"""Publishing: atomic sets (temp file, fsync, rename, manifest last), the kept versions of each set,
`PublishedSet` (the only reader and writer of manifest.json) and the index page.

May import: core.
"""
