"""Hand-computed expectations for the sample exports in ``tests/fixtures/exports/``.

Plain data, no tests and no project imports. One entry per file:

- ``layout``: the layout the importer should recognise from the header row alone (no user mapping).
- ``mapping``: importer field -> the file's header. Fields the file has no column for are left out.
- ``customers``: per customer key, ``frequency`` / ``monetary`` / ``last_purchase``.
- ``guest_rows``: data rows with no customer (they are loaded, but belong to no customer).
- ``rows``: data rows in the file (header excluded).

Definitions used (DESIGN.md, "Definitions"):

- Customer key: the file's customer id where the layout has a customer id column, otherwise the
  e-mail lower-cased and trimmed (Shopify has no customer id column, so its key is the e-mail).
- Order: a distinct order id. Its net = sum of its line values - refunds recorded for it.
  Line value = quantity x unit price where both exist, otherwise the line amount column.
- An order whose status says cancelled / failed / voided / refunded (in full), or that has a
  non-empty cancelled-at, contributes 0.
- Purchase: an order with net > 0. frequency = number of purchases; monetary = sum of net over all
  the customer's orders; last_purchase = the date printed in the file for the latest purchase
  (the local date as written, the UTC offset is ignored, never converted).

Where each header set comes from, and the quirks each file exercises: tests/fixtures/exports/README.md.
"""

EXPECTED = {
    # ------------------------------------------------------------------------------------------
    # Shopify admin "Export orders" CSV: one row per line item; order-level cells (Financial Status,
    # Total, Refunded Amount, Accepts Marketing, Billing ..., Cancelled at, Id, Source) only on the
    # first row of each order. Name, Email, Created at, Lineitem ... repeat on every row.
    # Line value = Lineitem quantity x Lineitem price (shipping and taxes excluded).
    # ------------------------------------------------------------------------------------------
    "shopify_orders.csv": {
        "layout": "shopify",
        "mapping": {
            "order_id": "Name",  # "Id" is blank on later line-item rows: group by Name
            "order_date": "Created at",
            "quantity": "Lineitem quantity",
            "unit_price": "Lineitem price",
            "product": "Lineitem name",
            "channel": "Source",
            "email": "Email",
            "full_name": "Billing Name",
            "country": "Billing Country",
            "city": "Billing City",
            "marketing_consent": "Accepts Marketing",
            "refund": "Refunded Amount",
            "status": "Financial Status",
            "cancelled_at": "Cancelled at",
        },
        "customers": {
            "maya.chen@example.com": {
                # #1001 2x18.00 + 1x12.00 = 48.00 ; #1006 (Email "Maya.Chen@Example.com") 1x18.00 = 18.00 ;
                # #1011 1x40.00 = 40.00
                "frequency": 3,  # 1001, 1006, 1011
                "monetary": 106.00,  # 48.00 + 18.00 + 40.00
                "last_purchase": "2025-05-20",  # #1011
            },
            "leo.martin@example.com": {
                # #1002 1x40.00 = 40.00 ; #1008 1x55.00 but voided + Cancelled at set -> 0
                "frequency": 1,  # 1002
                "monetary": 40.00,  # 40.00 + 0
                "last_purchase": "2025-01-20",  # #1002
            },
            "sofia.rossi@example.org": {
                # #1003 1x55.00 + 2x18.00 + 1x12.00 = 103.00 (Taxes 8.24 excluded) ;
                # #1009 2x12.00 + 1x40.00 = 64.00 - Refunded Amount 12.00 = 52.00 (partially_refunded) ;
                # #1012 1x18.00 = 18.00, created "2025-06-30 21:15:00 -0400" (already 07-01 in UTC)
                "frequency": 3,  # 1003, 1009, 1012
                "monetary": 173.00,  # 103.00 + 52.00 + 18.00
                "last_purchase": "2025-06-30",  # #1012, local date as printed
            },
            "noah.kim@example.com": {
                # #1004 2x12.00 = 24.00 ; #1010 1x40.00, Financial Status refunded (Refunded Amount 40.00): 0
                "frequency": 1,  # 1004
                "monetary": 24.00,  # 24.00 + 0
                "last_purchase": "2025-02-14",  # #1004
            },
            "ava.patel@example.com": {
                # #1007 1x55.00 = 55.00 (Shipping 25.00 excluded)
                "frequency": 1,
                "monetary": 55.00,
                "last_purchase": "2025-03-15",
            },
        },
        "guest_rows": 1,  # #1005: POS cash sale, Email blank
        "rows": 16,  # 12 orders; #1001 has 2 rows, #1003 has 3, #1009 has 2
    },
    # ------------------------------------------------------------------------------------------
    # WooCommerce, SkyVerge "Customer/Order/Coupon Export" plugin, built-in format
    # "Default - One Row per Item" (v5). Every row repeats all order-level columns, including
    # refunded_total: the per-line refund is item_refunded. customer_id 0 = guest checkout.
    # Line value = item_quantity x item_price (item_total gives the same value here: no coupons).
    # ------------------------------------------------------------------------------------------
    "woocommerce_orders.csv": {
        "layout": "woocommerce",
        "mapping": {
            "customer_id": "customer_id",
            "order_id": "order_id",  # order_number is blank without the Sequential Order Numbers plugin
            "order_date": "date",
            "amount": "item_total",
            "quantity": "item_quantity",
            "unit_price": "item_price",
            "product": "item_name",
            "email": "billing_email",
            "first_name": "billing_first_name",
            "last_name": "billing_last_name",
            "country": "billing_country",
            "city": "billing_city",
            "refund": "item_refunded",  # NOT refunded_total, which repeats on every row of the order
            "status": "status",
        },
        "customers": {
            "17": {
                # 1450 2x8 + 1x6 = 22.00 ; 1470 1x30 + 1x8 = 38.00 - item_refunded 8.00 = 30.00 ;
                # 1492 1x9 = 9.00
                "frequency": 3,  # 1450, 1470, 1492
                "monetary": 61.00,  # 22.00 + 30.00 + 9.00
                "last_purchase": "2025-06-01",  # 1492
            },
            "23": {
                # 1453 1x30 = 30.00 ; 1466 cancelled -> 0 ; 1488 refunded (9.00 - 9.00, status refunded) -> 0
                "frequency": 1,  # 1453
                "monetary": 30.00,  # 30.00 + 0 + 0
                "last_purchase": "2025-01-19",  # 1453
            },
            "0042": {
                # key keeps its leading zeros. 1457 3x9 = 27.00 ; 1481 1x6 + 2x8 = 22.00
                "frequency": 2,  # 1457, 1481
                "monetary": 49.00,  # 27.00 + 22.00
                "last_purchase": "2025-04-27",  # 1481
            },
            "58": {
                # 1474 failed -> 0 ; 1475 (same day, status processing) 2x9 = 18.00
                "frequency": 1,  # 1475
                "monetary": 18.00,  # 0 + 18.00
                "last_purchase": "2025-04-05",  # 1475
            },
        },
        "guest_rows": 2,  # 1461 and 1495: customer_id 0 (guest checkout; billing_email is still filled)
        "rows": 15,  # 12 orders; 1450, 1470 and 1481 have 2 rows each
    },
    # ------------------------------------------------------------------------------------------
    # Square Dashboard "Item Sales" / items detail export (Transactions > Export > Items detail).
    # One row per itemization, newest first. Money as "$4.50" / "-$1.00". Refunds are extra rows with
    # Event Type "Refund", negative Qty and negative money, same Transaction ID as the sale.
    # Line value = Net Sales (there is no unit-price column; Gross Sales is the line's gross).
    # ------------------------------------------------------------------------------------------
    "square_orders.csv": {
        "layout": "square",
        "mapping": {
            "customer_id": "Customer ID",
            "order_id": "Transaction ID",
            "order_date": "Date",
            "amount": "Net Sales",
            "quantity": "Qty",
            "product": "Item",
            "category": "Category",
            "channel": "Channel",  # real files put the location name here
            "full_name": "Customer Name",  # may be blank, or hold an e-mail
        },
        "customers": {
            "7K2M9XQ4TB5H3N8RWC0YJD6PFA": {  # Grace Lee
                # 2025-02-03 Latte $5.00 + Croissant x2 $9.00 = 14.00 ;
                # 2025-03-04 Latte (Large) gross $6.00, discount -$1.00, Net Sales $5.00 = 5.00 ;
                # 2025-05-06 Croissant $4.50 = 4.50
                "frequency": 3,
                "monetary": 23.50,  # 14.00 + 5.00 + 4.50
                "last_purchase": "2025-05-06",
            },
            "QZ4W8N1R6T3YH5KM2BV7XC9DJE": {  # Omar Haddad
                # 2025-02-17 Sourdough $9.00 = 9.00 ;
                # 2025-04-22 Latte $5.00 + Refund row -$5.00 (same Transaction ID) = 0.00 -> not a purchase
                "frequency": 1,
                "monetary": 9.00,  # 9.00 + 0.00
                "last_purchase": "2025-02-17",
            },
            "M3P8D5F1K9H2Q6W4T7R0YB2NXC": {  # Customer Name blank in the file
                # 2025-03-21 Cinnamon Roll x2 $8.00 + Latte $5.00 + Refund row (2025-03-22) -$4.00 = 9.00 ;
                # 2025-05-28 Sourdough $9.00 = 9.00
                "frequency": 2,
                "monetary": 18.00,  # 9.00 + 9.00
                "last_purchase": "2025-05-28",
            },
            "HV6J2C8L4N0S5R1T9W3XE7QAKB": {  # Customer Name holds "dana.w@example.com"
                # 2025-04-09 Sourdough $9.00 + Croissant $4.50 = 13.50
                "frequency": 1,
                "monetary": 13.50,
                "last_purchase": "2025-04-09",
            },
        },
        "guest_rows": 2,  # 2025-02-03 08:30 croissant and 2025-05-06 15:30 cinnamon roll: Customer ID empty
        "rows": 15,  # 10 transactions: 13 sale rows + 2 refund rows
    },
    # ------------------------------------------------------------------------------------------
    # Stripe Dashboard Payments export (unified_payments.csv), "all columns". One payment = one order;
    # Amount Refunded is the refund. Amounts in major units ("15.00"), currency lower-case ("usd"),
    # dates "YYYY-MM-DD HH:MM:SS" in UTC. Newest first.
    # ------------------------------------------------------------------------------------------
    "stripe_orders.csv": {
        "layout": "stripe",
        "mapping": {
            "customer_id": "Customer ID",
            "order_id": "id",
            "order_date": "Created date (UTC)",
            "amount": "Amount",
            "product": "Description",
            "email": "Customer Email",
            "full_name": "Card Name",
            "country": "Card Address Country",
            "city": "Card Address City",  # present but empty in every row, as in real Checkout payments
            "refund": "Amount Refunded",
            "status": "Status",
        },
        "customers": {
            "cus_RkT3pL8vQz2xNa": {  # Hannah Okafor
                # 2025-01-06 120.00 ; 2025-03-15 50.00 Status Refunded (Amount Refunded 50.00) -> 0 ;
                # 2025-04-18 120.00
                "frequency": 2,
                "monetary": 240.00,  # 120.00 + 0 + 120.00
                "last_purchase": "2025-04-18",
            },
            "cus_RmW7yH2cJd9sPe": {  # Lucas Moreau
                # 2025-01-13 15.00 ; 2025-03-03 65.00 ; 2025-05-02 23:40:00 UTC 15.00 (already 05-03 in Lyon)
                "frequency": 3,
                "monetary": 95.00,  # 15.00 + 65.00 + 15.00
                "last_purchase": "2025-05-02",  # the UTC date as printed
            },
            "cus_Rq4nB6tZx1VkLg": {  # Priya Nair (Customer Email in mixed case; the key is the id)
                # 2025-02-02 120.00 - Amount Refunded 30.00 = 90.00 (Status still Paid) ; 2025-04-01 15.00
                "frequency": 2,
                "monetary": 105.00,  # 90.00 + 15.00
                "last_purchase": "2025-04-01",
            },
            "cus_RsE9uM3fGh5oWd": {  # Ben Carter
                # 2025-02-10 14:55 15.00 Failed -> 0 ; 2025-02-10 15:03 retry 15.00 ; 2025-05-20 65.00
                "frequency": 2,
                "monetary": 80.00,  # 0 + 15.00 + 65.00
                "last_purchase": "2025-05-20",
            },
        },
        "guest_rows": 2,  # 2025-02-21 and 2025-06-07: in-person card reader, no Customer ID, no e-mail
        "rows": 13,
    },
}
