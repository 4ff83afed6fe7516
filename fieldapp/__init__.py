"""The Dazu catastrophe-insurance field app (Flet). Never imports sync_server."""
