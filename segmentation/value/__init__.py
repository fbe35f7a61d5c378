"""What customers are worth and whether they are still customers: the purchase models, and their back-tests.

- ``clv``: BG/NBD (purchases, P(alive)) and Gamma-Gamma (spend per order), and each customer's value.
- ``paretonbd``: Pareto/NBD, the other purchase model.
- ``modelchoice``: which of the two to trust for this shop, chosen by a back-test on its own orders.
- ``discounting``: value in today's money, and the horizon a model supports.
- ``nextorder``: when each customer's next order is due, and what that date rests on.
- ``backtest``, ``stage_backtest``: the predictions and the lifecycle stages checked against what happened next.
"""

__all__ = ["backtest", "clv", "discounting", "modelchoice", "nextorder", "paretonbd", "stage_backtest"]
