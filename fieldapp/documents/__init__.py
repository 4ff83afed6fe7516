"""fieldapp.documents"""
