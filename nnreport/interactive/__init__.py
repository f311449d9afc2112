"""nnreport while one works: worked steps displayed in Jupyter (notebook.py) and rebuilding on
every save (watch.py)."""
