"""fieldapp.store"""
