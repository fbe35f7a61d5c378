"""The Streamlit page's parts, one job per module; ``app.py`` puts them together.

Like ``app.py`` they render what ``agent`` and ``tools`` return and compute nothing themselves.
"""
