"""File readers: CSV (``csv``), Excel workbooks (``excel``, whose sheets are read by
``excel_worker`` in a process of its own), the format decided by content (``detect``), and
what a file must be and how much of it a reader may hold at once (``limits``)."""
