"""Office-grade exports of the compiled campaign: XLSX, DOCX, CSV."""
