"""The results contract both sides share: the evaluation writes it, the analysis reads it.

table.py        the long results CSV (columns, locked appends, done keys, the checked loader) and the
                encoders table
predictions.py  per-item predictions TSV (path, writer, reader, item scoring) for significance tests
"""
