"""File readers: CSV (``csv``), Excel workbooks (``excel``), and the format decided by
content (``detect``)."""
