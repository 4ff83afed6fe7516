"""fieldapp.sync"""
