"""fieldapp.state"""
