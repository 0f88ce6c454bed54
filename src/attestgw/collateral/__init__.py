"""collateral"""
