"""The pure core: an Atmos-style repo (and a change) in, resolved instances and their graph out.

No Prefect, no subprocess, no network here: only files read and values returned.
"""
