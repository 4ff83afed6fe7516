"""The PDF page layer both sides print with (fpdf2 with the CJK font, page furniture, tables): the
phone's forms (fieldapp.documents) and the server's reports (sync_server.reports). It depends on
fpdf2 and claimcore only, so the server never imports the phone app."""
