"""fieldapp.views"""
