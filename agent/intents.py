"""The offline agent's phrase tables: what an owner types, mapped to tools and their arguments.

Everything here is data, matched against the *normalised* question (lower case, apostrophes dropped,
every other non-alphanumeric run turned into one space: "haven't bought" -> "havent bought",
"at-risk" -> "at risk"). Each entry is a regular expression matched on word boundaries. Order matters
only where a comment says so; otherwise the planner in ``agent/offline.py`` decides by position and
length. Add a synonym by adding a line, and a phrasing test for it.
"""

from __future__ import annotations

# Groups an owner names, strongest first within no particular order: the planner takes the earliest
# match in the question (longest on a tie), so "at-risk regulars" is at_risk.
GROUP_PHRASES: tuple[tuple[str, str], ...] = (
    (r"(cant|cannot|can not|must not|mustnt)( \w+){0,3} lose( them)?|afford to lose", "cannot_lose_them"),
    (r"champions?|vips?|very important (customers|people)|best (customers|clients|buyers|shoppers|regulars)"
     r"|top (\d+ )?(customers|clients|buyers|spenders|shoppers)|(biggest|big|highest) spenders"
     r"|most valuable customers|superfans?|star customers|favou?rite customers|spen(d|t) (the )?most", "champions"),
    (r"at risk|slipping( away)?|drifting( away)?|fading( away)?|in danger|going cold|cooling off"
     r"|about to (leave|churn|go)|might (leave|churn|stop)|(could|may) (leave|churn)|likely to (leave|churn|stop)"
     r"|losing", "at_risk"),
    (r"lapsed|churned|lost customers|former customers|stopped (coming|buying|ordering|shopping|visiting)"
     r"|(havent|have not|hasnt|has not|not) (\w+ )?(bought|ordered|shopped|purchased|visited|been|come|returned|seen)"
     r"|dont (come|buy|order|shop)( \w+)? any ?more|no longer (buy|come|shop|order|visit)|gone quiet"
     r"|inactive|used to (come|shop|buy)|in ages|(ive|weve|i have|we have) lost", "lapsed"),
    (r"lapsing|about to lapse|overdue|due back|late for (their|a) (next )?(visit|order)", "lapsing"),
    (r"about to (sleep|fall asleep|doze off)|falling asleep|dozing( off)?", "about_to_sleep"),
    (r"hibernating|dormant|asleep|sleeping", "hibernating"),
    (r"needs? attention|middling|on the fence|lukewarm", "need_attention"),
    (r"promising", "promising"),
    (r"potential loyalists?|could become (loyal|regulars)|almost (loyal|regulars)|future regulars"
     r"|rising stars?", "potential_loyalists"),
    (r"new customers? segment", "new_customers"),
    (r"(new|newest) (customers|clients|buyers|shoppers|people|faces|ones)|newcomers?"
     r"|first time (customers|buyers|shoppers)|(just|recently) (joined|started)", "new"),
    (r"active (customers|buyers|ones|shoppers)|current customers|still (buying|active|coming)", "active"),
    (r"loyal( customers| ones| buyers)?|faithful|repeat customers|frequent (customers|buyers|shoppers)", "loyal"),
)
# Used only when no phrase above matched: "regulars" alone means loyal, "at-risk regulars" does not.
WEAK_GROUP_PHRASES: tuple[tuple[str, str], ...] = ((r"regulars?( customers)?", "loyal"),)

# Breakdown attributes (segment_by). category before product: "product categories" is category.
ATTRIBUTE_PHRASES: tuple[tuple[str, str], ...] = (
    (r"cit(y|ies)|towns?|live|living|lives|based|located|locations?|where (\w+ ){0,3}(from|live)", "city"),
    (r"countr(y|ies)|abroad|overseas|international|nationalit(y|ies)", "country"),
    (r"channels?|online|in (store|shop|person)|instore|web ?shop|website", "channel"),
    (r"categor(y|ies)|(types?|kinds?) of products?|departments?|product (types?|lines?|groups?)", "category"),
    (r"products?|items?|what (do|does|did) (\w+ ){1,5}buy|(who|which customers|people who|customers who) buys?"
     r"|best ?sellers?|best ?selling|sku", "product"),
    (r"consent|opted in|opt ins?|agreed to marketing|subscribed|marketing permission|gdpr", "marketing_consent"),
)
# Places that are countries, so "how many live in Ireland" breaks down by country, not city.
COUNTRIES = frozenset({
    "united kingdom", "uk", "england", "scotland", "wales", "ireland", "northern ireland", "france", "germany",
    "spain", "italy", "netherlands", "belgium", "portugal", "usa", "united states", "america", "canada",
    "australia", "new zealand", "sweden", "norway", "denmark", "poland", "switzerland", "austria",
})

SMS_PHRASES = r"texts?( messages?)?|sms|txt"
GOAL_PHRASES: tuple[tuple[str, str], ...] = (
    (r"win (\w+ ){0,2}back|bring (\w+ ){0,2}back|get (\w+ ){0,2}back|lure (\w+ ){0,2}back|miss (you|them)",
     "win_back"),
    (r"thank|reward|appreciat\w*", "thank_and_reward"),
    (r"welcome|second (purchase|order|visit)", "welcome_second_purchase"),
    (r"upsell|up sell|upgrade|spend more|cross sell|bigger (baskets?|orders?)", "upsell"),
    (r"re engage|reengage|wake (\w+ )?up|reconnect|nudge|check in", "re_engage"),
)

# What the question asks for. The planner tries these in the order of INTENT_ORDER (see there).
INTENT_PHRASES: dict[str, str] = {
    "load_data": r"(load|use|open|try|start|import|switch to|set up|play with)\b.*\b(demo|sample (data|shop)"
                 r"|example (data|shop))|demo (shop|data|bakery|cafe)|sample (data|shop)|example (data|shop)|^demo$",
    "measure_campaign": r"did (\w+ ){0,4}(campaign|e ?mail|text|sms|message|newsletter|offer|mailing)\b.*\bwork"
                        r"|(measure|results? (of|from)|how (did|well did|has|is)|performance of|evaluate|effect of"
                        r"|impact of|lift|uplift|roi|return on)\b.*\b(campaign|e ?mail|text|sms|message"
                        r"|newsletter|offer|mailing)|cmp \d+|control group|holdout|held out",
    "draft_campaign": r"(draft|write|compose|create|prepare|make|send|craft|put together|come up with|need|target"
                      r"|want)\b.*\b(e ?mails?|newsletter|message|texts?|sms|campaign|promo(tion)?|offer|coupon"
                      r"|discount|voucher|letter|subject lines?)"
                      r"|draft|write|compose|craft|campaign|newsletter|subject lines?"
                      r"|what (should|could|can) i (send|say|offer|write)"
                      r"|^(e ?mail|text|sms|message) |(a|an) (e ?mail|text|sms|newsletter)\b"
                      r"|(e ?mail|text|sms|message) (them|those|these)|reach out|get in touch",
    "segment_migration": r"mov(ed|e|es|ing)|migrat\w*|changed?|changes|shift(ed|s)?|dropped|fell|became|turned"
                         r"|went from|downgraded?|used to be|compare|compared (to|with)|since",
    "predict_value": r"predict\w*|forecast\w*|will (\w+ ){0,3}(spend|buy|order|be worth|bring|come back|return)"
                     r"|going to (spend|buy|order)|likely to (buy|order|come back|return|purchase|spend|shop)"
                     r"|expect(ed|ing)?"
                     r"|lifetime value|clv|ltv|future (value|revenue|spend|sales|purchases)"
                     r"|next \d+|next (\w+ )?(days?|weeks?|months?|quarter|year)|chance|probability|odds"
                     r"|still (alive|a customer)|worth",
    "cluster_customers": r"clusters?|clustering|groups|group (my|the|our) customers"
                         r"|(kinds|types|sorts) of (customers|shoppers|buyers|people|clients)"
                         r"|behave (alike|similarly)|similar customers|natural groupings?|machine learning"
                         r"|k ?means|personas|outliers?|unusual customers|odd customers|anomal\w*|resellers?",
    "compute_rfm": r"segments|segment (my|the|our) customers|segmentation|rfm|scores?|scored|scoring|recency frequency"
                   r"|split (up )?(my|the|our) customers|how are my customers (split|divided)"
                   r"|(each|every|per|by) segment",
    "data_overview": r"(whats|what is) in (my|the) data|overview|summary|summari[sz]e|what (data )?(do|can) you see"
                     r"|what do you have|how many (customers|orders|purchases|sales|people) (do|did|have|are)"
                     r"|(tell me about|describe) (my|the) (data|shop|business|store|file|numbers)"
                     r"|how (is|s) (my|the) (shop|business|store) doing|repeat rate|total revenue|date range"
                     r"|big picture|at a glance|the basics|health check|what can you tell me"
                     r"|(percentage|share|proportion) of (my )?customers|returning customers|come back at all",
    "describe_segment": r"tell me (more )?about|tell me more|describe|what (are|is) (\w+ ){1,4}like|persona|profile"
                        r"|who are they"
                        r"|what do (we|you|i) know about|typical|characteri[sz]e|what makes|deep dive|more about",
    "list_customers": r"who|list|show|which|how many|give me|find|get|what are|see|export|download|csv|names"
                      r"|count|number of|pull up|mean|means",
}
# Specific before general: a draft, a movement or a forecast names a group too, and must win over a
# plain list of that group; segment_by is decided in the planner (an attribute or place is named).
INTENT_ORDER = ("load_data", "measure_campaign", "draft_campaign", "segment_migration", "predict_value", "segment_by",
                "cluster_customers", "compute_rfm", "data_overview", "describe_segment", "list_customers")

# The group the question refers back to ("how many of *them* live in Leeds?").
PRONOUNS = (r"them|they|those|these|their|theirs|that group|this group|that segment|this segment"
            r"|that lot|the same (\w+ )?(group|ones|people|customers)|same group|this list|that list|the list")
# A follow-up that changes one thing about the last question ("what about champions?").
FOLLOW_UPS = r"^(and|what about|how about|same for|now|ok|okay|also|then|instead|but)\b|\binstead$|\btoo$|\bagain$"
# Left out when comparing a question with the examples.
STOP_WORDS = frozenset({"a", "an", "the", "my", "me", "i", "to", "of", "in", "for", "and", "or", "is", "are", "do",
                        "does", "what", "who", "which", "how", "can", "you", "your"})
# Questions about the assistant itself, not the data.
HELP = r"^(hi|hello|hey|help|thanks?|thank you|cheers)$|what can you do|how do(es)? (this|it|you) work"

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
                "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "a": 1, "a couple of": 2, "a few": 3,
                "couple of": 2, "few": 3}
MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "oct": 10,
          "nov": 11, "dec": 12}
MONTH_WORD = (r"(jan(uary)?|feb(ruary)?|mar(ch)?|apr(il)?|may|june?|july?|aug(ust)?|sep(t(ember)?)?|oct(ober)?"
              r"|nov(ember)?|dec(ember)?)")
# Named points in the year, as (month, day): "since Christmas", "since the summer".
SEASONS = {"christmas": (12, 25), "new year": (1, 1), "easter": (4, 1), "spring": (3, 1), "summer": (6, 1),
           "autumn": (9, 1), "fall": (9, 1), "winter": (12, 1), "black friday": (11, 24)}
UNIT_DAYS = {"day": 1, "week": 7, "month": 30, "quarter": 91, "year": 365}

# Questions the offline agent answers well; the nearest three are offered when a question is not
# understood, so each must plan a tool on its own (a test feeds every one back).
EXAMPLES: tuple[str, ...] = (
    "What's in my data?",
    "Who are my lapsed customers?",
    "Who are my best customers?",
    "Which customers are slipping away?",
    "Show me my RFM segments",
    "Split my customers into 4 groups",
    "Tell me about my champions",
    "Draft an email for my at-risk customers",
    "Write a text message to my new customers",
    "How much will my customers spend in the next 90 days?",
    "Who moved from champions to at risk in the last 3 months?",
    "Break my customers down by city",
    "Which products do my loyal customers buy?",
    "Which channel do my customers use, online or in store?",
    "Load the demo shop",
    "Did my last campaign work?",
)

# One next step per tool, said after the answer, and the question a plain "yes" to it stands for.
NEXT_STEPS: dict[str, tuple[str, str | None]] = {
    "load_data": ("Want an overview of what is in it?", "what's in my data?"),
    "data_overview": ("Want to see who is lapsed?", "who are my lapsed customers?"),
    "compute_rfm": ("Ask about any segment, e.g. \"who are my at-risk customers?\" or \"tell me about my "
                    "champions\".", None),
    "list_customers": ("Want an email draft for them?", "draft them an email"),
    "list_customers_empty": ("Try another group, e.g. \"who are my at-risk customers?\".", None),
    "cluster_customers": ("Want a persona of the first group? Ask \"tell me about cluster 2\" for the next.",
                          "tell me about cluster 1"),
    "describe_segment": ("Want an email draft for them?", "draft them an email"),
    "describe_cluster": ("Want the next group, cluster {next}?", "tell me about cluster {next}"),
    "draft_campaign": ("Want {other} version too?", "and {other} version"),
    "predict_value": ("Want to see who is at risk of not coming back?", "who are my at-risk customers?"),
    "measure_campaign": ("The table sets the messaged customers beside the held-out control group.", None),
    "segment_migration": ("Want the list of customers who are at risk now?", "who are my at-risk customers?"),
    "segment_by": ("Want this for your lapsed customers only?", "lapsed customers by {attribute}"),
    "segment_by_group": ("Want an email draft for them?", "draft them an email"),
}
# A plain yes to the last next step.
YES = r"^(yes|yeah|yep|yup|sure|ok|okay|please|go on|go ahead|do it|why not|yes please|ok please|sure thing)$"
