"""Verification (layer L3): signatures, chains and collateral → verified claims.

Time and collateral fetchers are passed in; nothing here reads the clock or opens a socket.
"""
