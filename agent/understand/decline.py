"""What the assistant will not or cannot do, said plainly: what, why, and the nearest thing it can do.

Two kinds. Refused actions: the assistant only reads the shop's data, so it never deletes, changes or
sends anything, and never puts one person's contact details into the chat. Out of scope: questions that
are not about the shop's customers and orders (the weather, tax returns, football). Both are answered in
one sentence before any tool is planned, so no wording of a request can make a tool do it.
"""

from __future__ import annotations

import re

# (pattern over the cleaned question, the answer). Earliest entry wins.
REFUSALS: tuple[tuple[str, str], ...] = (
    (
        r"\b(delete|remove|erase|wipe|purge|drop|clear out|get rid of|destroy|forget)\b(?! (the |this |that )?"
        r"(filter|chart|column|duplicates? from the (list|chart)))",
        "I can't delete data: I only read your shop's orders, so nothing you ask here can remove customers or "
        "orders. To start afresh, import your file again with the replace option (`segments import FILE "
        '--replace`, or tick "replace" in the sidebar\'s import).',
    ),
    (
        r"\b(send|email|e mail|text|message|blast|mail|schedule|ring|call|phone)\b( (it|this|that|them|the (email|text|"
        r"message|campaign|newsletter)|out|to (them|everyone|all))\b)?.*\b(now|for me|right away|straight away|today"
        r"|tonight|immediately|automatically|tomorrow)\b|\b(send|post|publish|schedule|blast)\b (it|this|that"
        r"|the (\w+ )"
        r"{0,3}(email|text|message|campaign|newsletter|draft)|out)\b|\bhit send\b|\bsend (an? )?(email|text|message|sms"
        r"|whatsapp|dm)s? to\b|\bto go out\b|\b(email|text|message)\b( \w+){1,2} (her|his) \w+",
        "I can't send emails or texts: I have no access to your email or SMS tool. Download the draft and the "
        "audience CSV under a draft's answer (it keeps only customers who agreed to marketing) and import them "
        "into Mailchimp, Klaviyo or your SMS tool.",
    ),
    (
        r"\b(phone|mobile|cell|telephone|contact details|contact info|home address|postal address|address|"
        r"email address|e mail address|personal details|date of birth|password|card number|card details)\b",
        "I can't give one person's contact details in the chat: names, emails, phones and addresses stay out of "
        "the conversation to keep them private. The customer lists under my answers (and their CSV downloads) "
        'hold the contact details of customers who can be messaged; ask e.g. "who are my lapsed customers?".',
    ),
    (
        r"\b(make|set)\b.*\b\d+( \d\d)?\b.*\b(from|starting) (monday|tuesday|wednesday|thursday|friday|saturday|sunday"
        r"|tomorrow|next week)\b|\b(knock|mark down|discount everything|(put|mark|bump) (\w+ ){0,3}prices? up)\b"
        r"|\bon the till\b|"
        r"\b(put|push|bump|mark|raise|increase|lower|cut|drop|change|set)\b.*\bprices?\b.*\b(up|down|by|to)\b|"
        r"\b(change|raise|lower|update|edit|set|modify|increase|decrease|put up)\b.*\b(prices?|pricing|stock|"
        r"inventory|orders?|records?|database|the data|customer details|name|names)\b(?!.*\b(effect|impact|"
        r"affect|how|what|would|should)\b)",
        "I can't change your data, prices or orders: I only read the orders you import. I can show what they "
        'say, e.g. "what\'s the average order value?" or "how have sales gone this year?".',
    ),
)

# Topics that are not about the shop's customers (the question has none of the shop's words either).
OFF_TOPIC = (
    r"homework|maths?|(go|goes|pair|pairs|pairing) (well )?with|weather|income tax|tax bill|owe (hmrc|tax)"
    r"|vat|self assessment|book me|train|taxi|table for"
    r"|the score in|game|jokes?|recipie"
    r"|forecast for (tomorrow|the weekend)|rain|sunny|tax(es)? return|vat return|hmrc|irs|"
    r"football|soccer|match|premier league|cricket|rugby|score of the|recipe|bake a|how do i "
    r"make (a |an )?(cake|bread|sourdough)|python|javascript|sql query|code|program|script|stock "
    r"market|shares|bitcoin|crypto|joke|poem|song|horoscope|news|politics|election|president|prime "
    r"minister|capital of|translate|meaning of life|lottery|holiday|flight|hotel|restaurant|movie|film"
    r"|netflix|dating|doctor|medical|legal advice|lawyer|mortgage|loan|insurance|pension|salary|hire|"
    r"recruit|payroll|invoice (template|generator)|write (me )?(a )?(cv|resume|cover letter|essay)"
)
# What an off-topic question is about, in the answer's words.
TOPICS: tuple[tuple[str, str], ...] = (
    (r"weather|forecast for|rain|sunny", "the weather"),
    (
        r"tax\w*|vat|hmrc|irs|accountant|self assessment|payroll|salary|pension|mortgage|loan|insurance",
        "tax or finance",
    ),
    (r"football|soccer|match|premier league|cricket|rugby|score|game", "sport"),
    (r"recipe|recipie|bake|make", "recipes"),
    (r"python|javascript|sql query|code|program|script", "writing code"),
    (r"book me|train|taxi|table for|holiday|flight|hotel|restaurant", "bookings or travel"),
    (r"jokes?|poem|song|movie|film|netflix|horoscope|dating", "entertainment"),
    (r"news|politics|election|president|prime minister|capital of|translate|meaning of life", "general knowledge"),
)
SHOP_WORDS = (
    r"take|took|takings|business|summary|overview|customers?|clients?|buyers?|shoppers?|people|orders?"
    r"|sales|revenue"
    r"|segments?|groups?|lapsed|"
    r"champions|loyal|regulars|campaign|email|spend|spent|bought|products?|categor(y|ies)|city|cities|"
    r"churn|data|shop|store"
)


def decline(text: str) -> str | None:
    """The one-sentence answer for a request the assistant must not or cannot carry out, else None."""
    if re.search(r"\b(refresh|reload|update (the |my |your )?(numbers|figures|analysis|results|dashboard))\b", text):
        return None  # "update the numbers with the latest orders": read again, nothing changed
    for pattern, answer in REFUSALS:
        if re.search(pattern, text):
            if (
                answer.startswith("I can't send")
                and re.search(r"\b(draft|write|compose|prepare|create|make)\b", text)
                and not re.search(r"\bsend (it|this|that)\b", text)
            ):
                return None  # "write an email to send to my lapsed": a draft, which says how to send it
            if answer.startswith("I can't give") and not _one_person(text):
                continue
            return answer
    if re.search(r"\b(vat|income tax|tax return|tax bill|hmrc|irs|self assessment)\b", text):
        return (
            "I can't help with tax or finance: I only answer questions about your shop's customers and orders, "
            'from your own data. I can show the sales figures themselves, e.g. "how were sales last month?".'
        )
    topic = re.search(rf"\b({OFF_TOPIC})\b", text)
    if topic and not re.search(rf"\b({SHOP_WORDS})\b", text):
        about = next((name for pattern, name in TOPICS if re.search(rf"\b({pattern})\b", topic.group(0))), "that")
        return (
            f"I can't help with {about}: I only answer questions about your shop's customers and orders, "
            "from your own data. I can, for example, tell you who your lapsed customers are, how sales went "
            "last month, or draft an email to your regulars."
        )
    return None


def _one_person(text: str) -> bool:
    """Asking after one person: a name-like word, 'customer 0042', 'her', 'his', 'this customer'."""
    return bool(
        re.search(
            r"\b(customer|client|id|number|no)\s*\d+\b|\b(her|his|hers|him|this customer|that "
            r"customer|this person|that person|someone|somebody|for [a-z]+ [a-z]+s?)\b|\b[a-z]+s "
            r"(phone|mobile|email|address|number)\b|\b(of|for) [a-z]+\b$|\bwhats [a-z]+s\b",
            text,
        )
        or re.search(
            r"\b(give|tell|what is|whats|show|get|find|need|want)\b.*\b(phone|mobile|address|"
            r"email address|number)\b",
            text,
        )
    )
