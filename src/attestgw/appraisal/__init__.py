"""appraisal"""
