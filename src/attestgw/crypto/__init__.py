"""Cryptographic primitives (layer L2): the only package that imports ``cryptography.hazmat``."""
