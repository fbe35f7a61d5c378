"""Segments the owner defines: a condition in a small language, saved by name and kept up to date.

- ``conditions``: the language (``city = "Leeds" and recency > 90``), parsed by hand, compiled to bound SQL.
- ``people_facts``: what a condition reads about who customers are (their list's attributes) and their emails.
- ``saved``: saved segments, their members after each import, and who joined and left.
- ``choices``: the values each field takes in this shop, for the segment builder to offer.
"""

__all__ = ["choices", "conditions", "people_facts", "saved"]
