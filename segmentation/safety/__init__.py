"""What leaves the program, made safe: spreadsheet cells, Markdown, and any text sent to a language model.

- ``cellsafety``: cells that would run as a formula in a spreadsheet, on the way in and on the way out.
- ``export``: the one writer for every CSV the program writes.
- ``markup``: text from the data shown inside Markdown as itself, never as a link, an image or HTML.
- ``privacy``: names, emails, phones and addresses masked before any text reaches a model.
"""

__all__ = ["cellsafety", "export", "markup", "privacy"]
