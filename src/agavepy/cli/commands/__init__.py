"""One module per verb group of ``agave``; each is imported only when it runs."""
