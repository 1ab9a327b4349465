"""Wrappers that present ``TextEdit-v0`` in the layouts other libraries and agents read."""
