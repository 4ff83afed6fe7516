"""fieldapp.media"""
