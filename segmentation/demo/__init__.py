"""The demo shop, The Corner Crumb: its orders (``shop``), and its customer list and newsletter activity
(``contacts``), generated from a seed so every run builds the same shop (`segments demo`, `make run`)."""

__all__ = ["contacts", "shop"]
