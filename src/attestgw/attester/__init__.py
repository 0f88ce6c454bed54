"""attester"""
